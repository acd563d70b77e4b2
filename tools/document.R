# Run roxygen2 on the package, loading the build installed in the given library.
args <- commandArgs(trailingOnly = TRUE)
lib <- if (length(args)) args[[1L]] else ".lib"
.libPaths(c(normalizePath(lib), .libPaths()))
roxygen2::roxygenise(load_code = roxygen2::load_installed)
