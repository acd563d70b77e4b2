# src/install.libs.R -- R CMD INSTALL runs this (in src/) instead of copying
# the shared object itself ("Writing R Extensions", 1.1.5), because the
# package has two: mxnet.so and, when configure built it, the GPU module
# mxnet_cuda.so, which the engine dlopens from libs/ on first GPU use.
files <- Sys.glob(paste0("*", SHLIB_EXT))
mk <- if (file.exists("Makevars")) readLines("Makevars") else character()
module <- trimws(sub("^MX_CUDA_MODULE *=", "", grep("^MX_CUDA_MODULE *=", mk, value = TRUE)))
# a module left by an earlier build is not part of this one
stale <- setdiff(paste0("mxnet_cuda", SHLIB_EXT), module)
files <- setdiff(files, stale)
if (length(module) && nzchar(module) && !file.exists(module))
  stop("configure chose to build the GPU module ", module, " but it is missing")
dest <- file.path(R_PACKAGE_DIR, paste0("libs", R_ARCH))
dir.create(dest, recursive = TRUE, showWarnings = FALSE)
file.copy(files, dest, overwrite = TRUE)
unlink(file.path(dest, stale))
if (file.exists("symbols.rds"))
  file.copy("symbols.rds", dest, overwrite = TRUE)
