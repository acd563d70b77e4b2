# The GPU build: what configure decided, the module file, and how a machine
# without a usable GPU answers.  Runs everywhere (CPU machines, CUDA build or
# MXNET_CUDA=no build); the GPU machine's answers are in the other
# test-gpu-*.R files, run by tools/gpu-check.sh.

gpu_module_path <- function() {
  libs <- system.file(paste0("libs", Sys.getenv("R_ARCH")), package = "mxnet")
  file.path(libs, paste0("mxnet_cuda", .Platform$dynlib.ext))
}
gpu_detail <- function(name) attr(mx.features(), "detail")[[name]]
no_usable_gpu <- function() mx.gpu.count() == 0L && Sys.getenv("MXNET_FAKE_GPU") == ""

test_that("mx.features() reports CUDA, cuDNN and NCCL with a reason", {
  f <- mx.features()
  expect_true(all(c("CUDA", "CUDNN", "NCCL") %in% names(f)))
  for (n in c("CUDA", "CUDNN", "NCCL")) {
    expect_type(f[[n]], "logical")
    expect_true(nzchar(gpu_detail(n)), info = n)
  }
})

test_that("NCCL is reported as used exactly when the module has its collectives", {
  f <- mx.features()
  built <- grepl("GPU module mxnet_cuda.so built for", gpu_detail("CUDA"), fixed = TRUE)
  expect_identical(f[["NCCL"]], built && grepl("kvstores", gpu_detail("NCCL")))
})

test_that("the GPU module is installed exactly when configure built it", {
  built <- grepl("GPU module mxnet_cuda.so built for", gpu_detail("CUDA"), fixed = TRUE)
  without <- grepl("WITHOUT the GPU module|disabled by MXNET_CUDA=no|^missing", gpu_detail("CUDA"))
  expect_true(built != without, info = gpu_detail("CUDA"))
  expect_identical(file.exists(gpu_module_path()), built)
  if (built) expect_match(gpu_detail("CUDA"), "sm_[0-9]+")
})

test_that("the installed GPU module finds every library it needs", {
  mod <- gpu_module_path()
  skip_if_not(file.exists(mod), "built without the GPU module")
  skip_if(Sys.which("ldd") == "", "no ldd")
  out <- suppressWarnings(system2("ldd", mod, stdout = TRUE, stderr = TRUE))
  expect_false(any(grepl("not found", out)), info = paste(out, collapse = "\n"))
  expect_true(any(grepl("libcudnn\\.so\\.9", out)), info = paste(out, collapse = "\n"))
  expect_true(any(grepl("libcublas\\.so", out)), info = paste(out, collapse = "\n"))
  # the driver is found at run time by the CUDA runtime, never linked; NCCL is
  # opened with dlopen at the first collective
  expect_false(any(grepl("libcuda\\.so", out)), info = paste(out, collapse = "\n"))
  expect_false(any(grepl("libnccl", out)), info = paste(out, collapse = "\n"))
})

test_that("library(mxnet) does not load the GPU module", {
  skip_if_not(file.exists(gpu_module_path()), "built without the GPU module")
  skip_if(!file.exists("/proc/self/maps"), "no /proc")
  maps <- system2(file.path(R.home("bin"), "Rscript"),
                  c("-e", shQuote(paste0("suppressMessages(library(mxnet, lib.loc = '",
                                         dirname(system.file(package = "mxnet")), "')); ",
                                         "x <- mx.nd.zeros(2); ",
                                         "cat(any(grepl('mxnet_cuda|libcudnn|libcublas', ",
                                         "readLines('/proc/self/maps'))))"))),
                  stdout = TRUE, stderr = FALSE)
  expect_identical(tail(maps, 1), "FALSE")
})

test_that("without a usable GPU there are no GPUs and GPU work says what is missing", {
  skip_if_not(no_usable_gpu(), "this machine has a GPU (or MXNET_FAKE_GPU is set)")
  expect_identical(mx.gpu.count(), 0L)
  # the missing piece: the module (built without CUDA), or the driver / a GPU
  missing <- if (file.exists(gpu_module_path())) "driver|device" else "CUDA|GPU module|GPU support"
  for (f in list(function() mx.nd.zeros(2, ctx = mx.gpu()),
                 function() mx.nd.array(1:3, ctx = mx.gpu(0)),
                 function() mx.nd.copyto(mx.nd.array(1), mx.gpu()))) {
    e <- tryCatch(f(), mxnet_error = function(e) e)
    expect_s3_class(e, "mxnet_unsupported_error")
    expect_match(conditionMessage(e), missing)
  }
  # the package stays usable on the CPU
  expect_equal(as.array(mx.nd.ones(2) + 1), c(2, 2))
})

test_that("a forced module load without a driver reports the CUDA runtime's reason", {
  skip_if_not(file.exists(gpu_module_path()), "built without the GPU module")
  skip_if_not(no_usable_gpu(), "this machine has a GPU")
  skip_if(file.exists("/dev/nvidia0") || nzchar(Sys.which("nvidia-smi")), "an NVIDIA driver may be present")
  # MXNET_CUDA_FORCE_MODULE=1 dlopens the module even when libcuda is absent
  # (so CPU machines exercise the module's load and init); a fresh process,
  # because the engine chooses its GPU backend once
  code <- paste0("suppressMessages(library(mxnet, lib.loc = '",
                 dirname(system.file(package = "mxnet")), "')); ",
                 "cat(mx.gpu.count(), tryCatch({mx.nd.zeros(2, ctx = mx.gpu()); 'no error'}, ",
                 "error = function(e) conditionMessage(e)), sep = '\\n')")
  out <- system2(file.path(R.home("bin"), "Rscript"), c("-e", shQuote(code)),
                 stdout = TRUE, stderr = TRUE, env = "MXNET_CUDA_FORCE_MODULE=1")
  expect_identical(out[1], "0", info = paste(out, collapse = "\n"))
  # the module ran: its init answers with the CUDA runtime's text
  # ("CUDA driver version is insufficient ... (cudaErrorInsufficientDriver)")
  expect_match(paste(out[-1], collapse = " "), "insufficient|cudaError",
               info = paste(out, collapse = "\n"))
})
