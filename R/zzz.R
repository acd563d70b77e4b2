.MXNetEnv <- new.env(parent = emptyenv())

.onLoad <- function(libname, pkgname) {
  .MXNetEnv$ctx <- mx.cpu()
  invisible(.Call(C_mx_r_threads, NULL))
}

.onUnload <- function(libpath) {
  # The library stays loaded: the engine registers a fork handler
  # (pthread_atfork, see src/engine/threads.c) that cannot be removed, and it
  # must not point into unmapped code if the process forks later.
  invisible(libpath)
}
