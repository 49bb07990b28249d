# The two set-up commands of the README:
#   make run    install what is missing, build, start the agent on 127.0.0.1:5000, print its key
#   make test   install what is missing, build, run every test (also under ASan+UBSan)
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 10
JOBS       ?= $(shell nproc)
CMAKE_FLAGS = -G Ninja -DMOCCHA_WERROR=ON

.PHONY: all bootstrap build run test test-fast test-asan fuzz bench deb format clean

all: build

bootstrap:
	@scripts/bootstrap

$(BUILD)/build.ninja:
	cmake -S . -B $(BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=RelWithDebInfo

$(ASAN_BUILD)/build.ninja:
	cmake -S . -B $(ASAN_BUILD) $(CMAKE_FLAGS) -DCMAKE_BUILD_TYPE=Debug -DMOCCHA_SANITIZE=ON

build: bootstrap $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@echo "API key: $$($(BUILD)/moccha key)"
	exec $(BUILD)/moccha serve

test-fast: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

test-asan: bootstrap $(ASAN_BUILD)/build.ninja
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
	  ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# Each libFuzzer target runs FUZZ_SECONDS from its checked-in corpus (fuzz/corpus/NAME).
fuzz: bootstrap
	cmake -S . -B $(FUZZ_BUILD) -G Ninja -DMOCCHA_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14 \
	  -DCMAKE_BUILD_TYPE=RelWithDebInfo
	cmake --build $(FUZZ_BUILD) -j $(JOBS)
	@for t in multipart http_path config nvidia_smi rencode torrent aria2 cnl jd mega; do \
	  mkdir -p $(FUZZ_BUILD)/corpus/$$t && \
	  echo "fuzz_$$t: $(FUZZ_SECONDS) s" && \
	  if ! $(FUZZ_BUILD)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_SECONDS) \
	    $(FUZZ_BUILD)/corpus/$$t fuzz/corpus/$$t > $(FUZZ_BUILD)/fuzz_$$t.log 2>&1; then \
	    tail -40 $(FUZZ_BUILD)/fuzz_$$t.log; exit 1; \
	  fi; tail -1 $(FUZZ_BUILD)/fuzz_$$t.log; \
	done

test: test-fast test-asan fuzz

# The Debian package: build/moccha_VERSION_ARCH.deb (CPack; see packaging/).
deb: build
	cmake --build $(BUILD) --target package_docs
	cd $(BUILD) && cpack -G DEB

bench: build
	@scripts/bootstrap bench
	bench/http $(BUILD)/moccha
	bench/exec $(BUILD)/moccha
	bench/files $(BUILD)/moccha
	bench/torrents $(BUILD)/moccha
	bench/downloads $(BUILD)/moccha
	bench/web $(BUILD)/moccha
	bench/mega $(BUILD)/moccha

format:
	clang-format -i $$(git ls-files '*.cpp' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)
