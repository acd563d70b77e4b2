# PyTorch .pt state dicts: a zip reader (stored entries, as torch.save writes
# them) and a restricted unpickler that never runs code: it knows the
# opcodes of a state dict and a whitelist of globals, anything else is an
# mxnet_io_error. Then the mapping of PyTorch names onto MXNet parameters.

# ---------------------------------------------------------------- zip

# Little-endian unsigned ints at byte offset `at` (0-based) of buf.
zip.u <- function(buf, at, size, file) {
  if (at < 0 || at + size > length(buf)) st.fail(file, "zip structure runs past the end of the file")
  b <- as.integer(buf[at + seq_len(size)])
  sum(b * 256^(seq_len(size) - 1L))
}

# The entries of a zip archive: data.frame-like list of name, offset (0-based,
# of the data), size. Only stored (uncompressed) entries, as torch.save writes.
zip.entries <- function(buf, file) {
  n <- length(buf)
  from <- max(0, n - 65557)
  sig <- which(buf[seq.int(from + 1, length.out = max(0, n - from - 3))] == as.raw(0x50))
  eocd <- NA
  for (k in rev(sig)) {
    at <- from + k - 1
    if (zip.u(buf, at, 4, file) == 0x06054b50) { eocd <- at; break }
  }
  if (is.na(eocd)) st.fail(file, "not a zip archive (no end of central directory); old-style (pre-1.6) torch files are not supported")
  count <- zip.u(buf, eocd + 10, 2, file)
  at <- zip.u(buf, eocd + 16, 4, file)
  if (count == 0xffff || at == 0xffffffff) st.fail(file, "zip64 archives are not supported")
  out <- list(name = character(count), offset = numeric(count), size = numeric(count))
  for (i in seq_len(count)) {
    if (zip.u(buf, at, 4, file) != 0x02014b50) st.fail(file, "bad zip central directory entry %d", i)
    method <- zip.u(buf, at + 10, 2, file)
    csize <- zip.u(buf, at + 20, 4, file)
    nlen <- zip.u(buf, at + 28, 2, file)
    skip <- nlen + zip.u(buf, at + 30, 2, file) + zip.u(buf, at + 32, 2, file)
    local <- zip.u(buf, at + 42, 4, file)
    name <- buf[at + 46 + seq_len(nlen)]
    if (any(name == as.raw(0L)) || at + 46 + nlen > n) st.fail(file, "bad zip entry name")
    name <- rawToChar(name)
    if (zip.u(buf, local, 4, file) != 0x04034b50) st.fail(file, "bad zip local header of '%s'", name)
    data <- local + 30 + zip.u(buf, local + 26, 2, file) + zip.u(buf, local + 28, 2, file)
    if (method != 0) st.fail(file, "zip entry '%s' is compressed (method %d); torch.save stores entries", name, method)
    if (data + csize > n) st.fail(file, "zip entry '%s' runs past the end of the file", name)
    out$name[i] <- name; out$offset[i] <- data; out$size[i] <- csize
    at <- at + 46 + skip
  }
  out
}

zip.get <- function(buf, z, name, file) {
  i <- match(name, z$name)
  if (is.na(i)) st.fail(file, "the archive has no entry '%s'", name)
  buf[z$offset[i] + seq_len(z$size[i])]
}

# ---------------------------------------------------------------- unpickler

# Globals a state dict may name; everything else is refused.
pk.storages <- c(FloatStorage = "F32", DoubleStorage = "F64", HalfStorage = "F16",
                 BFloat16Storage = "BF16", LongStorage = "I64", IntStorage = "I32",
                 ShortStorage = "I16", CharStorage = "I8", ByteStorage = "U8", BoolStorage = "BOOL")
pk.allowed <- c("collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                "torch._utils._rebuild_parameter", paste0("torch.", names(pk.storages)))

# A dict: entries "1", "2", ... (list(key, value), so that None keeps its
# place) and their count n. One binding per entry: growing lists held in an
# environment copied them on every SETITEM (40,000 took 99 s).
pk.dict <- function() { e <- new.env(parent = emptyenv()); e$n <- 0L; class(e) <- "pk_dict"; e }
pk.set <- function(d, k, v) {
  if (!inherits(d, "pk_dict")) mx.error("io", "SETITEM on something that is not a dict")
  d$n <- d$n + 1L
  assign(sprintf("%d", d$n), list(k, v), envir = d)
}

pk.str <- function(b, st) {
  if (any(b == as.raw(0L))) st$fail("a string holds a NUL byte")
  rawToChar(b)
}

# Call a whitelisted global.
pk.call <- function(f, args, st) {
  if (!inherits(f, "pk_global")) st$fail("REDUCE on something that is not a global")
  switch(f$name,
    collections.OrderedDict = pk.dict(),
    torch._utils._rebuild_tensor_v2 = {
      ints <- function(x) is.list(x) && all(vapply(x, function(v) is.numeric(v) && length(v) == 1L, NA))
      if (length(args) < 4L || !inherits(args[[1L]], "pk_storage") || !ints(args[2L]) || !ints(args[[3L]]) ||
          !ints(args[[4L]]))
        st$fail("bad _rebuild_tensor_v2 arguments (storage, offset, size, stride)")
      structure(list(storage = args[[1L]], offset = args[[2L]], size = unlist(args[[3L]]),
                     stride = unlist(args[[4L]])), class = "pk_tensor")
    },
    torch._utils._rebuild_parameter = args[[1L]],
    st$fail(sprintf("calling %s is not allowed", f$name)))
}

# Run a pickle (protocol 2 to 4 opcodes used by torch.save for state dicts).
# `storage(pid)` resolves persistent ids. Returns the unpickled object.
pk.load <- function(bytes, storage, where) {
  st <- new.env(parent = emptyenv())
  st$fail <- function(msg) mx.error("io", sprintf("%s: unpickling refused: %s", where, msg))
  # The stack is stack[seq_len(sp)] and the marks marks[seq_len(mp)], grown in
  # place and never shrunk, the memo a hashed environment: dropping list
  # elements and named-list lookups made long pickles quadratic (40,000
  # opcodes took 100 s).
  stack <- list(); sp <- 0L; marks <- integer(); mp <- 0L
  memo <- new.env(hash = TRUE, parent = emptyenv()); nmemo <- 0L
  pos <- 0; n <- length(bytes)
  take <- function(k) {
    force(k)   # k may read bytes itself: before pos is used
    if (pos + k > n) st$fail("truncated pickle")
    b <- bytes[pos + seq_len(k)]; pos <<- pos + k; b
  }
  u <- function(k) sum(as.integer(take(k)) * 256^(seq_len(k) - 1L))
  line <- function() {   # grepRaw: copying the rest of the pickle per GLOBAL made loads quadratic
    e <- if (pos < n) grepRaw(as.raw(10L), bytes, offset = pos + 1, fixed = TRUE)
    if (!length(e)) st$fail("truncated pickle")
    s <- bytes[seq.int(pos + 1, length.out = e - pos - 1)]
    pos <<- e
    pk.str(s, st)
  }
  push <- function(x) { force(x); sp <<- sp + 1L; stack[sp] <<- list(x) }   # x may pop
  top <- function() { if (!sp) st$fail("stack underflow"); stack[[sp]] }
  pop <- function() { x <- top(); sp <<- sp - 1L; x }
  mark <- function() { mp <<- mp + 1L; marks[mp] <<- sp }
  popmark <- function() {
    if (!mp) st$fail("no MARK")
    m <- marks[mp]; mp <<- mp - 1L
    items <- stack[seq_len(sp - m) + m]; sp <<- m
    items
  }
  put <- function(key) {
    k <- sprintf("%.0f", key)
    if (is.null(memo[[k]])) nmemo <<- nmemo + 1L
    assign(k, list(top()), envir = memo)
  }
  global <- function(module, name) {
    if (!is.character(module) || !is.character(name) || length(module) != 1L || length(name) != 1L)
      st$fail("a global's module and name must be strings")
    name <- paste0(module, ".", name)
    if (!(name %in% pk.allowed)) st$fail(sprintf("global '%s' is not allowed", name))
    structure(list(name = name), class = "pk_global")
  }
  repeat {
    op <- as.integer(take(1L))
    switch(sprintf("%02x", op),
      `80` = take(1L), `95` = take(8L),                                   # PROTO, FRAME
      `63` = { m <- line(); push(global(m, line())) },                     # GLOBAL
      `93` = { nm <- pop(); push(global(pop(), nm)) },                     # STACK_GLOBAL
      `51` = push(storage(pop())),                                         # BINPERSID
      `52` = { a <- pop(); push(pk.call(pop(), a, st)) },                  # REDUCE
      `62` = pop(),                                                        # BUILD: state ignored
      `28` = mark(),                                                       # MARK
      `74` = push(popmark()),                                              # TUPLE
      `29` = push(list()),                                                 # EMPTY_TUPLE
      `85` = push(list(pop())),                                            # TUPLE1
      `86` = { b <- pop(); push(list(pop(), b)) },                         # TUPLE2
      `87` = { c3 <- pop(); b <- pop(); push(list(pop(), b, c3)) },        # TUPLE3
      `7d` = push(pk.dict()),                                              # EMPTY_DICT
      `5d` = push(list()),                                                 # EMPTY_LIST
      `73` = { v <- pop(); k <- pop(); pk.set(top(), k, v) },              # SETITEM
      `75` = { it <- popmark(); if (length(it) %% 2) st$fail("odd SETITEMS")
               for (k in seq_len(length(it) / 2)) pk.set(top(), it[[2 * k - 1]], it[[2 * k]]) },
      `58` = push(pk.str(take(u(4L)), st)),                                # BINUNICODE
      `8c` = push(pk.str(take(u(1L)), st)),                                # SHORT_BINUNICODE
      `4a` = { v <- u(4L); push(if (v >= 2^31) v - 2^32 else v) },         # BININT
      `4b` = push(u(1L)), `4d` = push(u(2L)),                              # BININT1, BININT2
      `8a` = { k <- u(1L); if (k > 8) st$fail("LONG1 too long")            # LONG1
               v <- if (k) u(k) else 0; push(if (k && v >= 2^(8 * k - 1)) v - 2^(8 * k) else v) },
      `88` = push(TRUE), `89` = push(FALSE), `4e` = push(NULL),            # NEWTRUE/FALSE, NONE
      `47` = push(readBin(rev(take(8L)), "numeric", size = 8, endian = "little")),  # BINFLOAT
      `71` = put(u(1L)), `72` = put(u(4L)), `94` = put(nmemo),             # BINPUT, LONG_BINPUT, MEMOIZE
      `68` = , `6a` = {                                                    # BINGET, LONG_BINGET
        v <- memo[[sprintf("%.0f", u(if (op == 0x68) 1L else 4L))]]
        if (is.null(v)) st$fail("BINGET of an unknown memo key")
        push(v[[1L]]) },
      `2e` = return(pop()),                                                # STOP
      st$fail(sprintf("opcode 0x%02x at byte %.0f is not supported", op, pos - 1)))
  }
}

# ---------------------------------------------------------------- .pt files

#' Read a PyTorch state dict
#'
#' Reads a \code{.pt} / \code{.pth} file written by \code{torch.save(
#' model.state_dict(), file)} (the zip format of PyTorch 1.6 and later, also
#' read by torch for R's \code{load_state_dict}). The pickle inside is read
#' by a restricted unpickler that never executes code: it accepts only the
#' globals a state dict uses (\code{collections.OrderedDict},
#' \code{torch._utils._rebuild_tensor_v2}, \code{_rebuild_parameter} and the
#' typed storages) and refuses anything else, such as a pickle that would
#' call a function, with an \code{mxnet_io_error}. Whole-model pickles
#' (\code{torch.save(model)}) and TorchScript archives are not supported.
#' @param file The \code{.pt} file.
#' @return A named list of MXNDArrays (PyTorch's names; shapes reversed into
#'   R dims, the same memory). Nested dicts give names joined by \code{.}.
#'   0-d tensors (such as BatchNorm's \code{num_batches_tracked}) are
#'   1-element arrays with attribute \code{torch.0d = TRUE}, which
#'   \code{\link{mx.safetensors.save}} writes back as 0-d.
#' @seealso \code{\link{mx.torch.params}} to map the names onto a symbol.
#' @examples
#' \dontrun{
#' sd <- mx.torch.load("model.pt")
#' p <- mx.torch.params(sd)
#' }
#' @export
mx.torch.load <- function(file) {
  io.guard(file, torch.load.file(file))
}

torch.load.file <- function(file) {
  buf <- caffe.read.raw(file, "PyTorch")
  z <- zip.entries(buf, file)
  pkl <- z$name[endsWith(z$name, "/data.pkl") | z$name == "data.pkl"]
  if (length(pkl) != 1L) st.fail(file, "no single data.pkl entry: not a torch.save zip archive")
  stem <- sub("data[.]pkl$", "", pkl)
  storage <- function(pid) {
    if (!is.list(pid) || length(pid) < 5L || !identical(pid[[1L]], "storage") ||
        !inherits(pid[[2L]], "pk_global") || !is.character(pid[[3L]]))
      mx.error("io", sprintf("%s: unpickling refused: unknown persistent id", file))
    type <- pk.storages[sub("^torch[.]", "", pid[[2L]]$name)]
    if (is.na(type))
      mx.error("io", sprintf("%s: unpickling refused: a persistent id names %s, not a storage type",
                             file, pid[[2L]]$name))
    structure(list(type = type[[1L]], key = pid[[3L]], numel = pid[[5L]]), class = "pk_storage")
  }
  obj <- pk.load(zip.get(buf, z, pkl, file), storage, file)
  tensors <- pk.flatten(obj, "", file)
  lapply(tensors, pk.materialize, buf = buf, z = z, stem = stem, file = file)
}

pk.flatten <- function(obj, prefix, file, depth = 0L) {
  if (inherits(obj, "pk_tensor")) return(stats::setNames(list(obj), prefix))
  if (!inherits(obj, "pk_dict")) return(list())
  if (depth > 32L) st.fail(file, "dicts nested more than 32 deep (or a dict that holds itself)")
  parts <- lapply(seq_len(obj$n), function(i) {
    kv <- obj[[sprintf("%d", i)]]
    if (!is.character(kv[[1L]])) return(list())
    pk.flatten(kv[[2L]], if (nzchar(prefix)) paste0(prefix, ".", kv[[1L]]) else kv[[1L]], file, depth + 1L)
  })
  do.call(c, parts) %||% list()
}

pk.materialize <- function(t, buf, z, stem, file) {
  s <- t$storage
  size <- st.dtypes[[s$type]][[1L]]
  bytes <- zip.get(buf, z, paste0(stem, "data/", s$key), file)
  numel <- length(bytes) / size
  if (numel != floor(numel))
    st.fail(file, "storage '%s' of %d bytes is not a whole number of %d-byte elements", s$key, length(bytes), size)
  shp <- as.numeric(t$size); strd <- as.numeric(t$stride); off <- as.numeric(t$offset)
  if (length(shp) != length(strd) || anyNA(c(strd, off)) || !io.dims.ok(shp) || prod(shp) > numel)
    st.fail(file, "a tensor's size (%s) does not fit its storage of %g elements",
            paste(shp, collapse = ", "), numel)
  # no view of an empty tensor: (0, 2^31 - 1) would make a 16 GB index below
  if (!prod(shp)) return(st.nd(numeric(), shp, s$type))
  vals <- st.decode(bytes, s$type, numel)
  ix <- off
  for (d in seq_along(shp)) ix <- as.vector(outer((seq_len(shp[d]) - 1) * strd[d], ix, "+"))
  if (length(ix) && (min(ix) < 0 || max(ix) >= numel))
    st.fail(file, "a tensor's strides run outside its storage")
  st.nd(vals[ix + 1], shp, s$type)
}

#' Map PyTorch parameter names onto MXNet's
#'
#' Turns a PyTorch state dict (from \code{\link{mx.torch.load}} or
#' \code{\link{mx.safetensors.load}}) into MXNet argument and auxiliary
#' parameters: dots become underscores (\code{conv1.weight} ->
#' \code{conv1_weight}); BatchNorm layers (recognised by their
#' \code{running_mean}) map \code{weight}, \code{bias}, \code{running_mean},
#' \code{running_var} to \code{gamma}, \code{beta}, \code{moving_mean},
#' \code{moving_var}, and \code{num_batches_tracked} is dropped. Convolution
#' (OIHW) and Linear (out, in) weights need no transposes. Build the
#' equivalent symbol with \code{BatchNorm(fix_gamma = FALSE, eps = 1e-5,
#' momentum = 0.9)} (PyTorch's defaults: learned gamma, eps 1e-5, momentum
#' 0.1 = MXNet's 0.9; MXNet's defaults are \code{fix_gamma = TRUE} and
#' \code{eps = 1e-3}), and \code{Pooling(pooling_convention = "valid")} for
#' \code{ceil_mode = FALSE} (\code{"full"} for \code{TRUE}).
#' @param state A named list of MXNDArrays.
#' @return A list with \code{arg.params} and \code{aux.params}.
#' @examples
#' sd <- list(fc.weight = mx.nd.ones(c(3, 2)), bn.weight = mx.nd.ones(2),
#'   bn.running_mean = mx.nd.zeros(2))
#' names(mx.torch.params(sd)$arg.params)
#' @export
mx.torch.params <- function(state) {
  if (!is.list(state) || is.null(names(state))) mx.error("value", "argument 'state' must be a named list")
  nm <- names(state)
  layer <- sub("[.][^.]*$", "", nm)
  leaf <- sub("^.*[.]", "", nm)
  bn <- layer %in% layer[leaf == "running_mean"]
  map <- c(weight = "gamma", bias = "beta", running_mean = "moving_mean", running_var = "moving_var")
  new <- ifelse(bn & leaf %in% names(map), map[leaf], leaf)
  out <- gsub("[.]", "_", ifelse(layer != nm, paste0(layer, ".", new), new))
  keep <- leaf != "num_batches_tracked"
  aux <- keep & bn & leaf %in% c("running_mean", "running_var")
  list(arg.params = stats::setNames(state[keep & !aux], out[keep & !aux]),
       aux.params = stats::setNames(state[aux], out[aux]))
}

# ---------------------------------------------------------------- writing

# Pickle opcodes (protocol 2) for what a state dict holds.
pkw.str <- function(s) { b <- charToRaw(enc2utf8(s)); c(charToRaw("X"), pkw.u32(length(b)), b) }
pkw.u32 <- function(v) writeBin(as.integer(if (v >= 2^31) v - 2^32 else v), raw(), size = 4, endian = "little")
pkw.int <- function(v) {
  if (abs(v) < 2^31) return(c(charToRaw("J"), pkw.u32(v %% 2^32)))
  c(as.raw(0x8a), as.raw(8L), st.int64.bytes(v))                    # LONG1, 8 bytes
}
pkw.global <- function(module, name) charToRaw(paste0("c", module, "\n", name, "\n"))
pkw.tuple <- function(...) c(charToRaw("("), ..., charToRaw("t"))

# data.pkl of an OrderedDict of tensors stored as storages "0", "1", ...
pkw.state.dict <- function(names, types, shapes) {
  items <- lapply(seq_along(names), function(i) {
    shp <- shapes[[i]]
    numel <- prod(shp)
    stride <- if (length(shp)) rev(cumprod(c(1, rev(shp)[-length(shp)]))) else numeric()
    pid <- pkw.tuple(pkw.str("storage"), pkw.global("torch", types[[i]]), pkw.str(as.character(i - 1L)),
                     pkw.str("cpu"), pkw.int(numel))
    c(pkw.str(names[[i]]), pkw.global("torch._utils", "_rebuild_tensor_v2"),
      pkw.tuple(pid, charToRaw("Q"), pkw.int(0),
                pkw.tuple(unlist(lapply(shp, pkw.int))), pkw.tuple(unlist(lapply(stride, pkw.int))),
                as.raw(0x89), pkw.global("collections", "OrderedDict"), charToRaw(")R")),
      charToRaw("R"))
  })
  c(as.raw(c(0x80, 2)), pkw.global("collections", "OrderedDict"), charToRaw(")R("),
    unlist(items), charToRaw("u."))
}

# A stored (uncompressed) zip archive of named raw entries.
zip.write <- function(entries, file) {
  u16 <- function(v) writeBin(as.integer(v), raw(), size = 2, endian = "little")
  local <- list(); central <- list(); off <- 0
  for (nm in names(entries)) {
    b <- entries[[nm]]
    name <- charToRaw(nm)
    fixed <- c(u16(20), u16(0), u16(0), u16(0), u16(0x21),
               pkw.u32(.Call(C_mx_r_crc32, b)), pkw.u32(length(b)), pkw.u32(length(b)),
               u16(length(name)))
    local[[nm]] <- c(pkw.u32(0x04034b50), fixed, u16(0), name, b)
    central[[nm]] <- c(pkw.u32(0x02014b50), u16(20), fixed, u16(0), u16(0), u16(0), u16(0),
                       pkw.u32(0), pkw.u32(off), name)
    off <- off + length(local[[nm]])
  }
  cd <- unlist(central, use.names = FALSE)
  if (off + length(cd) >= 2^32) mx.error("unsupported", "archives of 4 GB or more (zip64) are not supported")
  eocd <- c(pkw.u32(0x06054b50), u16(0), u16(0), u16(length(entries)), u16(length(entries)),
            pkw.u32(length(cd)), pkw.u32(off), u16(0))
  writeBin(c(unlist(local, use.names = FALSE), cd, eocd), file)
}

#' @rdname mx.torch.load
#' @param state A named list of MXNDArrays (or R arrays) to save.
#' @details \code{mx.torch.save} writes such a list in the same zip format
#'   (protocol-2 pickle, one stored entry per tensor), which
#'   \code{torch.load} and torch for R's \code{load_state_dict} read. float32,
#'   float64, int32, int64 and uint8 arrays keep their type; others are
#'   written as float32.
#' @export
mx.torch.save <- function(state, file) {
  if (!is.list(state) || is.null(names(state)) || anyNA(names(state)) || any(!nzchar(names(state))))
    mx.error("value", "argument 'state' must be a named list of arrays")
  storages <- c(float32 = "FloatStorage", float64 = "DoubleStorage", int32 = "IntStorage",
                int64 = "LongStorage", uint8 = "ByteStorage")
  codes <- c(float32 = "F32", float64 = "F64", int32 = "I32", int64 = "I64", uint8 = "U8")
  dt <- vapply(state, function(a) if (inherits(a, "MXNDArray") && mx.nd.dtype(a) %in% names(storages))
    mx.nd.dtype(a) else "float32", "")
  vals <- lapply(state, as.array)
  shapes <- Map(function(a, v) if (isTRUE(attr(a, "torch.0d")) && length(v) == 1L) numeric()
                else rev(dim(v) %||% length(v)), state, vals)
  entries <- list(`archive/data.pkl` = pkw.state.dict(names(state), storages[dt], shapes))
  for (i in seq_along(vals))
    entries[[sprintf("archive/data/%d", i - 1L)]] <- st.encode(vals[[i]], dt[[i]])
  entries[["archive/version"]] <- charToRaw("3\n")
  zip.write(entries, file)
  invisible(file)
}
