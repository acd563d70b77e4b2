# Data frames and factors: a data.frame is one row per observation; its
# numeric and logical columns are features as they are, its factor (and
# character) columns are one-hot encoded. The encoding is kept in the model
# (model$encoding) and reused by predict(); factor labels keep their levels
# (model$label.levels) for predict(type = "class" / "prob").

# The encoding of a data frame's columns: names, and levels of factor ones.
df.encoding <- function(df) {
  if (!ncol(df)) mx.error("value", "the data frame has no columns")
  levels <- lapply(df, function(col) {
    if (is.numeric(col) || is.logical(col)) return(NULL)
    if (is.factor(col) || is.character(col)) return(levels(as.factor(col)))
    mx.error("value", sprintf("data frame columns must be numeric, logical, factor or character, not %s",
                              class(col)[1L]))
  })
  structure(list(columns = names(df), levels = levels), class = "mx.encoding")
}

# The features x examples matrix of a data frame under an encoding.
df.encode <- function(enc, df) {
  missing.cols <- setdiff(enc$columns, names(df))
  if (length(missing.cols))
    mx.error("value", sprintf("the data frame lacks the column%s %s the model was trained with",
                              if (length(missing.cols) > 1L) "s" else "", paste(missing.cols, collapse = ", ")))
  parts <- lapply(enc$columns, function(nm) df.encode.column(df[[nm]], enc$levels[[nm]], nm))
  m <- do.call(cbind, parts)
  if (anyNA(m)) mx.error("value", "the data frame contains NA")
  t(m)
}

df.encode.column <- function(col, levels, name) {
  if (is.null(levels)) {
    if (!is.numeric(col) && !is.logical(col))
      mx.error("value", sprintf("column '%s' was numeric in training, not %s", name, class(col)[1L]))
    return(matrix(as.double(col), ncol = 1L, dimnames = list(NULL, name)))
  }
  v <- as.character(col)
  unknown <- setdiff(unique(v[!is.na(v)]), levels)
  if (length(unknown))
    mx.error("value", sprintf("column '%s' has level%s %s unknown in training (levels: %s)", name,
                              if (length(unknown) > 1L) "s" else "", paste(unknown, collapse = ", "),
                              paste(levels, collapse = ", ")))
  m <- outer(match(v, levels), seq_along(levels), "==") + 0
  colnames(m) <- paste0(name, levels)
  m
}

# Labels as 0-based codes of known levels (factor or character), numbers as they are.
df.label.codes <- function(y, levels) {
  if (is.null(levels) || !(is.factor(y) || is.character(y))) return(y)
  k <- match(as.character(y), levels)
  if (anyNA(k[!is.na(y)]))
    mx.error("value", sprintf("the labels have levels unknown in training (levels: %s)", paste(levels, collapse = ", ")))
  k - 1L
}

# Training data: data frames encoded (one row per observation), factor labels
# coded; eval.data encoded the same way.
model.tabular <- function(X, y, eval.data) {
  enc <- if (is.data.frame(X)) df.encoding(X) else NULL
  lev <- if (is.factor(y)) levels(y) else NULL
  if (!is.null(enc)) X <- df.encode(enc, X)
  y <- df.label.codes(y, lev)
  if (is.list(eval.data) && !is.data.frame(eval.data) && !is.null(eval.data$data)) {
    if (is.data.frame(eval.data$data))
      eval.data$data <- df.encode(enc %||% df.encoding(eval.data$data), eval.data$data)
    eval.data$label <- df.label.codes(eval.data$label, lev)
  } else if (is.data.frame(eval.data)) {
    mx.error("value", "a data frame as eval.data needs its labels: list(data = df, label = y)")
  }
  list(X = X, y = y, eval.data = eval.data, encoding = enc, levels = lev)
}

# predict(type = "class" / "prob") from MXNet's classes x N layout.
predict.type <- function(raw, type, levels) {
  if (type == "raw") return(raw)
  if (length(dim(raw)) != 2L)
    mx.error("value", sprintf("type = \"%s\" needs a classes x examples output, not %d dimensions", type,
                              length(dim(raw) %||% 1L)))
  p <- t(raw)
  if (!is.null(levels)) {
    if (ncol(p) != length(levels))
      mx.error("value", sprintf("the network has %d outputs for %d label levels", ncol(p), length(levels)))
    colnames(p) <- levels
  }
  if (type == "prob") return(p)
  k <- max.col(p, ties.method = "first")
  if (is.null(levels)) k - 1L else factor(levels[k], levels = levels)
}
