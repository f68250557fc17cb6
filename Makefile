# The two commands that matter: `make run` (lesson 02) and `make test` (every test).
# Both install what is missing (Debian 12, as root), configure and build in Release first.
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup setup-test configure build run test lesson bench data clean install

all: build

setup:
	@tools/setup.sh build

setup-test:
	@tools/setup.sh test

configure: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

# The main job: lesson 02, "Multi-Head Attention and Transformer Blocks".
run: build
	@$(BUILD)/llm-journey lesson 02

# Any lesson: make lesson N=01
lesson: build
	@$(BUILD)/llm-journey lesson $(N)

test: setup-test build
	@cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

bench: build
	@bench/compare.sh $(BUILD)

# The tiny-shakespeare corpus, checked against its published md5.
data:
	@tools/get_data.sh data

install: build
	@cmake --install $(BUILD)

clean:
	@rm -rf $(BUILD)
