# mxnet for R -- developer and user entry points.
#   make demo      install what is missing, build and install the package, train the
#                  talk's LeNet on Fashion-MNIST (demo/lenet.R; make demo-ndarray: NDArray tour)
#   make test      build the package and run R CMD check (tests included) + the audit
#   make generate  regenerate R/ops-generated.R, NAMESPACE and man/ from the op registry
#   make bench     run the benchmarks in bench/
#   make site      build the pkgdown site (reference, vignettes, NEWS) into site/
#   make cuda-lint compile the GPU module (src/cuda) for sm_90 with every warning an error
#   make gpu-pack  prepare what tools/gpu-check.sh needs on a GPU machine (docs/gpu.md)
R ?= R
RSCRIPT ?= Rscript
LIB ?= .lib
PKG = mxnet
VERSION = $(shell sed -n 's/^Version: *//p' DESCRIPTION)
TARBALL = $(PKG)_$(VERSION).tar.gz
export OMP_THREAD_LIMIT ?= 2

.PHONY: site deps install demo demo-ndarray test check audit generate bench clean cuda-lint gpu-pack gpu-pack-trim gpu-host-checks test-fake-gpu

deps:
	@sh tools/install-deps.sh

$(LIB):
	mkdir -p $(LIB)

install: $(LIB)
	$(R) CMD INSTALL --no-multiarch -l $(LIB) .

# SITE_DEPS= LIB=<an installed library> builds the site from that installation
SITE_DEPS ?= install
site: $(SITE_DEPS)
	R_LIBS=$(LIB) $(RSCRIPT) -e 'options(pkgdown.internet = FALSE); pkgdown::build_site(".", install = FALSE, new_process = FALSE, preview = FALSE)'
	$(RSCRIPT) tools/site-offline.R site

demo: deps install
	R_LIBS=$(LIB) $(RSCRIPT) demo/lenet.R

demo-ndarray: deps install
	R_LIBS=$(LIB) $(RSCRIPT) demo/ndarray.R

check:
	rm -f $(PKG)_*.tar.gz
	$(R) CMD build --no-manual .
	_R_CHECK_FORCE_SUGGESTS_=false $(R) CMD check --no-manual $(TARBALL)
	@sh tools/check-status.sh $(PKG).Rcheck/00check.log

test: check audit

audit:
	sh tools/audit.sh

generate: $(LIB)
	$(R) CMD INSTALL --no-multiarch --no-test-load -l $(LIB) .
	$(RSCRIPT) tools/generate-ops.R $(LIB)
	$(R) CMD INSTALL --no-multiarch -l $(LIB) .
	$(RSCRIPT) tools/document.R $(LIB)
	$(R) CMD INSTALL --no-multiarch -l $(LIB) .

bench: install
	R_LIBS=$(LIB) $(RSCRIPT) bench/ndarray-bench.R
	R_LIBS=$(LIB) $(RSCRIPT) bench/train-bench.R

# The GPU module, strictly: every .cu by nvcc for sm_90 with host and device
# warnings as errors, no launch on the default stream, ptxas failing on
# register spills; every host .c as pedantic C99; then the link (which fails
# on an undefined symbol); the module must export one symbol and import no
# mx_ one.  Uses the toolkit configure finds (src/Makevars).
# Kernels with a stack frame (local memory) are listed; they fail the lint
# with CUDA_LINT_LMEM=error (-warn-lmem-usage).  Not by default: CUDA's own
# math functions (tan, lgamma, ... in double) keep a small local array for
# argument reduction, which no kernel can avoid.
CUDA_LINT_DIR = build/cuda-lint
CUDA_LINT_LMEM ?= report
CUDA_LINT_NVCC = -std=c++17 -O3 -lineinfo -fmad=false -gencode arch=compute_90,code=sm_90 \
  -Xcompiler -fpic,-fvisibility=hidden,-fno-exceptions,-fno-threadsafe-statics,-Wall,-Wextra \
  -Werror all-warnings -Werror default-stream-launch,cross-execution-space-call \
  -Xptxas -v,-warn-spills$(if $(filter error,$(CUDA_LINT_LMEM)),$(comma)-warn-lmem-usage)
comma = ,
CUDA_LINT_CC = gcc -std=c99 -Wall -Wextra -pedantic -Werror -fpic -fvisibility=hidden

cuda-lint:
	@MXNET_CUDA_ARCH=90 ./configure | grep '^mxnet: CUDA'
	@set -e; mkvar() { sed -n "s/^$$1 = //p" src/Makevars; }; \
	nvcc=$$(mkvar NVCC); inc=$$(mkvar CUDA_CPPFLAGS); libs=$$(mkvar CUDA_LIBS); \
	if [ -z "$$nvcc" ]; then echo "cuda-lint: no GPU module in this configuration (config.log says why)"; exit 1; fi; \
	rm -rf $(CUDA_LINT_DIR); mkdir -p $(CUDA_LINT_DIR); objs=""; \
	for f in src/cuda/kernels/*.cu; do [ -f "$$f" ] || continue; \
	  o=$(CUDA_LINT_DIR)/$$(basename "$$f" .cu).cu.o; objs="$$objs $$o"; \
	  if ! $$nvcc $(CUDA_LINT_NVCC) $$inc -Isrc -c "$$f" -o "$$o" > "$$o.log" 2>&1; then \
	    grep -v '^ptxas info' "$$o.log" | grep -v 'bytes stack frame' >&2; echo "cuda-lint: $$f FAILED"; exit 1; fi; \
	  regs=$$(sed -n 's/.*Used \([0-9]*\) registers.*/\1/p' "$$o.log" | sort -n | tail -n 1); \
	  lmem=$$(awk '/Function properties for/ {fn = $$NF} /bytes stack frame/ && $$1 > 0 {n++} END {print n + 0}' "$$o.log"); \
	  echo "cuda-lint: $$f ok ($$(grep -c 'Compiling entry' "$$o.log") kernels, at most $${regs:-0} registers, no spills, $$lmem with local memory)"; \
	  awk '/Function properties for/ {fn = $$NF} /bytes stack frame/ && $$1 > 0 {print "cuda-lint:   local memory: " $$1 " bytes in " fn}' "$$o.log" | sort -u | head -n 8; \
	done; \
	for f in src/cuda/*.c; do [ -f "$$f" ] || continue; \
	  o=$(CUDA_LINT_DIR)/$$(basename "$$f" .c).o; objs="$$objs $$o"; \
	  $(CUDA_LINT_CC) $$inc -Isrc -c "$$f" -o "$$o" || { echo "cuda-lint: $$f FAILED"; exit 1; }; \
	  echo "cuda-lint: $$f ok"; \
	done; \
	gcc -shared -o $(CUDA_LINT_DIR)/mxnet_cuda.so $$objs $$libs || { echo "cuda-lint: link FAILED"; exit 1; }; \
	und=$$(nm -u $(CUDA_LINT_DIR)/mxnet_cuda.so | awk '$$NF ~ /^mx_/ {print $$NF}'); \
	if [ -n "$$und" ]; then echo "cuda-lint: the module needs engine symbols it cannot reach: $$und"; exit 1; fi; \
	exp=$$(nm -D --defined-only $(CUDA_LINT_DIR)/mxnet_cuda.so | awk '{print $$NF}' | tr '\n' ' '); \
	if [ "$$exp" != "mx_cuda_module_init " ]; then echo "cuda-lint: the module must export only mx_cuda_module_init, not: $$exp"; exit 1; fi; \
	echo "cuda-lint: passed ($(CUDA_LINT_DIR)/mxnet_cuda.so, $$(du -k $(CUDA_LINT_DIR)/mxnet_cuda.so | cut -f1) KiB, exports mx_cuda_module_init only)"

# What tools/gpu-check.sh needs on a GPU machine without R, in device/
# (ignored by git and R CMD build; carry it with the device tool): R packed
# by ../shared/tools/device-r-pack.sh (once), the package built for sm_90
# from a clean tarball without oneDNN (the packed R has no libdnnl), and
# PyTorch's benchmark scripts (../shared does not travel).
GPU_PACK = device
gpu-pack:
	@test -x ../shared/tools/device-r-pack.sh || { echo "gpu-pack: ../shared/tools/device-r-pack.sh not found"; exit 1; }
	rm -rf $(GPU_PACK)/lib $(GPU_PACK)/bench build/gpu-pack
	mkdir -p $(GPU_PACK)/lib $(GPU_PACK)/bench build/gpu-pack
	test -f $(GPU_PACK)/r/rport.tar.xz || { bash ../shared/tools/device-r-pack.sh $(GPU_PACK)/r && $(MAKE) gpu-pack-trim; }
	cd build/gpu-pack && $(R) CMD build --no-build-vignettes --no-manual ../.. > build.log 2>&1 || { cat build.log; exit 1; }
	MXNET_CUDA_ARCH=90 MXNET_DNNL=no MXNET_OPENBLAS=no $(R) CMD INSTALL --no-multiarch --no-test-load \
	  -l $(GPU_PACK)/lib build/gpu-pack/$(PKG)_$(VERSION).tar.gz > build/gpu-pack/install.log 2>&1 || { cat build/gpu-pack/install.log; exit 1; }
	@grep '^mxnet: CUDA' build/gpu-pack/install.log
	@test -f $(GPU_PACK)/lib/$(PKG)/libs/mxnet_cuda.so || { echo "gpu-pack: no GPU module was built"; exit 1; }
	cp ../shared/bench/gpu_torch.py ../shared/bench/gpu_torch_best.py $(GPU_PACK)/bench/
	@du -sh $(GPU_PACK) $(GPU_PACK)/*

# The packed R without R's recommended packages (none is used by the
# package or its tests), recompressed: the device tool carries at most 64 MiB
# with the working tree.
GPU_PACK_DROP = Matrix mgcv nlme survival MASS lattice boot class cluster foreign KernSmooth nnet rpart spatial
gpu-pack-trim:
	rm -rf build/gpu-pack-r && mkdir -p build/gpu-pack-r
	tar -C build/gpu-pack-r -xJf $(GPU_PACK)/r/rport.tar.xz
	cd build/gpu-pack-r/usr/lib/R/library && rm -rf $(GPU_PACK_DROP)
	tar -C build/gpu-pack-r -cf - . | xz -9e -T2 > $(GPU_PACK)/r/rport.tar.xz
	rm -rf build/gpu-pack-r
	@du -sh $(GPU_PACK)/r/rport.tar.xz

clean:
	sh ./cleanup
	rm -rf $(PKG).Rcheck $(PKG)_*.tar.gz build

# Host checks of the GPU code that run without a GPU (need nvcc's headers and
# cuDNN): the kernels' index maths and an emulation of every own kernel
# against its CPU op; cuDNN descriptors against our shape inference, and the
# cuBLAS/cuDNN host code run on the host against the CPU kernels.
gpu-host-checks:
	$(MAKE) -C tools/cuda-host-tests test emu
	$(MAKE) -C tools/cudnn-shape-check run fake

# The whole test suite on fake GPUs: mx.gpu() as the default device, device
# memory unreadable outside the GPU paths (docs/gpu.md).
test-fake-gpu: install
	MXNET_FAKE_GPU=1 MXNET_TEST_CTX=gpu R_LIBS=$(LIB) $(RSCRIPT) -e 'suppressMessages(library(mxnet)); testthat::test_dir("tests/testthat", load_package = "none", reporter = "summary", stop_on_failure = TRUE)'
