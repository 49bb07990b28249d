# cmake -DINPUT=dir -DOUTPUT=file.cpp -P embed_web.cmake
# Writes the dashboard's asset table (src/web/assets.h) from the files esbuild wrote to INPUT:
# each one gzipped (-9 -n: no name or time, so builds are reproducible), with a strong ETag made
# from the SHA-256 of the gzipped bytes. index.html is served as "/".
file(GLOB_RECURSE files RELATIVE "${INPUT}" "${INPUT}/*")
list(SORT files)
set(arrays "")
set(rows "")
set(i 0)
foreach(f IN LISTS files)
  if(f MATCHES "\\.gz$")
    continue()
  endif()
  execute_process(COMMAND gzip -9 -n -c "${INPUT}/${f}" OUTPUT_FILE "${INPUT}/${f}.gz"
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "gzip ${f} failed")
  endif()
  file(SIZE "${INPUT}/${f}" size)
  file(SHA256 "${INPUT}/${f}.gz" sha)
  string(SUBSTRING "${sha}" 0 32 tag)
  file(READ "${INPUT}/${f}.gz" hex HEX)
  file(SIZE "${INPUT}/${f}.gz" gz_size)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  string(APPEND arrays "const char kAsset${i}[] = {${bytes}};\n")
  if(f STREQUAL "index.html")
    set(path "/")
  else()
    set(path "/assets/${f}")
  endif()
  if(f MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(f MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(f MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(f MATCHES "\\.svg$")
    set(type "image/svg+xml")
  else()
    set(type "application/octet-stream")
  endif()
  if(f MATCHES "^chunk-")
    set(immutable true)
  else()
    set(immutable false)
  endif()
  string(APPEND rows
         "    {\"${path}\", \"${type}\", \"\\\"${tag}\\\"\", {kAsset${i}, ${gz_size}}, ${size}, ${immutable}},\n")
  file(REMOVE "${INPUT}/${f}.gz")
  math(EXPR i "${i} + 1")
endforeach()
if(i EQUAL 0)
  set(table "")
  set(span "return {};")
else()
  set(table "const Asset kAssets[] = {\n${rows}};\n")
  set(span "return kAssets;")
endif()
file(WRITE "${OUTPUT}.tmp" "// Generated from ${INPUT} by cmake/embed_web.cmake; do not edit.
#include \"web/assets.h\"

namespace moccha::web {
namespace {
${arrays}
${table}}  // namespace

std::span<const Asset> assets() { ${span} }

const Asset* find_asset(std::string_view path) {
  for (const Asset& a : assets())
    if (a.path == path) return &a;
  return nullptr;
}

}  // namespace moccha::web
")
file(RENAME "${OUTPUT}.tmp" "${OUTPUT}")
