# Thin wrapper: the real work is in CMake, tests/run and tools/.
JOBS ?= $(shell nproc)

.PHONY: build test run clean

build:
	cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
	cmake --build build -j $(JOBS)

test:
	tests/run

run:
	tools/run

clean:
	rm -rf build build-test
