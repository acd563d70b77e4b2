.MXNetEnv <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  .MXNetEnv$ctx <- mx.cpu()
  invisible(.Call(C_mx_r_threads, NULL))
}

.onUnload <- function(libpath) {
  library.dynam.unload("mxnet", libpath)
}
