# The two commands that matter: `make run` (lesson 02) and `make test` (every test).
# Both install what is missing (Debian 12, as root), configure and build in Release first.
BUILD ?= build
SAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup setup-test configure build run test test-sanitize lesson bench data clean install

all: build

setup:
	@tools/setup.sh build

setup-test:
	@tools/setup.sh test

configure: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

# A build in one line: the compiler's output goes to $(BUILD)/build.log, shown (its end) only when
# the build fails; any warning is counted on that line.
quiet_build = printf 'building %s ... ' "$(or $(1),everything)"; \
	if cmake --build $(BUILD) -j $(JOBS) $(if $(1),--target $(1)) >$(BUILD)/build.log 2>&1; then \
	  w=$$(grep -c 'warning:' $(BUILD)/build.log); \
	  if [ "$$w" -eq 0 ]; then echo done; else echo "done, $$w warnings (see $(BUILD)/build.log)"; fi; \
	else echo failed; tail -40 $(BUILD)/build.log; exit 1; fi

build: configure
	@$(call quiet_build,)

# The main job: lesson 02, "Multi-Head Attention and Transformer Blocks". Builds only the tool.
run: configure
	@$(call quiet_build,llm-journey)
	@$(BUILD)/llm-journey lesson 02

# Any lesson: make lesson N=01
lesson: configure
	@$(call quiet_build,llm-journey)
	@$(BUILD)/llm-journey lesson $(N)

# Every test, then every test again under AddressSanitizer and UndefinedBehaviorSanitizer.
test: setup-test build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	@$(MAKE) --no-print-directory test-sanitize

# The whole suite built with -fsanitize=address,undefined at -O1 (fast enough to run every test; the
# fuzzers run in the normal build only). Any report fails the test that triggered it. An allocation too
# large to make returns null, as malloc does, so the library's out-of-memory error can be tested.
test-sanitize: setup-test
	@cmake -S . -B $(SAN_BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_CXX_FLAGS_RELEASE=-O1 -DLJ_SANITIZE=ON \
	       -DLJ_BUILD_BENCH=OFF $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(SAN_BUILD) -j $(JOBS)
	@cd $(SAN_BUILD) && ASAN_OPTIONS=abort_on_error=1:detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1 \
	   ctest --output-on-failure -j $(JOBS) -LE slow

# Our layers and products side by side with the current PyTorch from PyPI, which this installs into
# $(BUILD)/bench-venv (about 5 GB, once; the tests use Debian's python3-torch).
bench: build
	@bench/compare.sh $(BUILD)

# The tiny-shakespeare corpus, checked against its published md5.
data:
	@tools/get_data.sh data

install: build
	@cmake --install $(BUILD)

clean:
	@rm -rf $(BUILD) $(SAN_BUILD)
