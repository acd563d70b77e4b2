# mxnet for R -- developer and user entry points.
#   make demo      install what is missing, build and install the package, train the
#                  talk's LeNet on Fashion-MNIST (demo/lenet.R; make demo-ndarray: NDArray tour)
#   make test      build the package and run R CMD check (tests included) + the audit
#   make generate  regenerate R/ops-generated.R, NAMESPACE and man/ from the op registry
#   make bench     run the benchmarks in bench/
R ?= R
RSCRIPT ?= Rscript
LIB ?= .lib
PKG = mxnet
VERSION = $(shell sed -n 's/^Version: *//p' DESCRIPTION)
TARBALL = $(PKG)_$(VERSION).tar.gz
export OMP_THREAD_LIMIT ?= 2

.PHONY: deps install demo demo-ndarray test check audit generate bench clean

deps:
	@sh tools/install-deps.sh

$(LIB):
	mkdir -p $(LIB)

install: $(LIB)
	$(R) CMD INSTALL --no-multiarch -l $(LIB) .

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

clean:
	sh ./cleanup
	rm -rf $(PKG).Rcheck $(PKG)_*.tar.gz build
