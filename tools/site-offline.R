# Make the pkgdown site work offline (issue 13); `make site` runs it after
# pkgdown::build_site(). Debian 12's pkgdown 2.0.7 (Bootstrap 5) pages load
# Font Awesome, bootstrap-toc, headroom, clipboard.js, fuse, autocomplete and
# mark.js from CDNs and MathJax from file:///usr/share/javascript. This copies
# what Debian packages into site/deps/offline/ (clipboard.js from
# node-clipboard, Font Awesome 4.7 from fonts-font-awesome), uses
# tools/site-offline.js for the libraries Debian does not package, and
# rewrites every page's script and link tags to those local copies.
# Pages with no math drop the MathJax tags; pages with math keep a local copy
# of MathJax when libjs-mathjax is installed.
# Usage: Rscript tools/site-offline.R [site-dir]

args <- commandArgs(trailingOnly = TRUE)
site <- if (length(args)) args[[1]] else "site"
deps <- file.path(site, "deps", "offline")

copy_dep <- function(from, to) {
  if (!file.exists(from)) stop("site-offline: ", from, " missing; run tools/install-deps.sh", call. = FALSE)
  dir.create(dirname(to), recursive = TRUE, showWarnings = FALSE)
  stopifnot(file.copy(from, to, overwrite = TRUE))
}

fa <- "/usr/share/fonts-font-awesome"
copy_dep("/usr/share/nodejs/clipboard/dist/clipboard.js", file.path(deps, "clipboard.js"))
copy_dep("tools/site-offline.js", file.path(deps, "site-offline.js"))
copy_dep(file.path(fa, "css", "font-awesome.min.css"), file.path(deps, "font-awesome", "css", "font-awesome.min.css"))
for (f in list.files(file.path(fa, "fonts"), full.names = TRUE))
  copy_dep(f, file.path(deps, "font-awesome", "fonts", basename(f)))

# tags that load from outside the site (several tags may share a line)
remote_tag <- paste0("<script[^>]*src=\"(https?:|file:)//[^\"]*\"[^>]*>\\s*</script>",
                     "|<link(?![^>]*rel=\"(canonical|alternate)\")[^>]*href=\"(https?:|file:)//[^>]*>")
has_remote <- function(text) grepl(remote_tag, text, perl = TRUE)
has_math <- function(text) grepl("class=\"math", text)

mathjax_local <- function() {
  mj <- "/usr/share/javascript/mathjax"
  to <- file.path(deps, "mathjax")
  if (!dir.exists(to)) {
    if (!file.exists(file.path(mj, "MathJax.js"))) return(FALSE)
    dir.create(to, recursive = TRUE)
    file.copy(list.files(mj, full.names = TRUE), to, recursive = TRUE)
  }
  TRUE
}

read_page <- function(path) paste(readLines(path, warn = FALSE, encoding = "UTF-8"), collapse = "\n")

rewrite_page <- function(path) {
  text <- read_page(path)
  js <- "<script src=\"([^\"]*)pkgdown\\.js\"></script>"
  if (!grepl(js, text) || grepl("deps/offline/site-offline.js", text, fixed = TRUE)) return(FALSE)
  root <- regmatches(text, regexec(js, text))[[1]][2]
  d <- paste0(root, "deps/offline/")
  local <- c(
    sprintf("<link rel=\"stylesheet\" href=\"%sfont-awesome/css/font-awesome.min.css\" />", d),
    sprintf("<script src=\"%sclipboard.js\"></script>", d),
    sprintf("<script src=\"%ssite-offline.js\"></script>", d))
  if (has_math(text) && mathjax_local())
    local <- c(local, sprintf(
      "<script src=\"%smathjax/MathJax.js?config=TeX-AMS-MML_HTMLorMML\"></script>", d))
  text <- gsub(remote_tag, "", text, perl = TRUE)
  # Internet Explorer's respond.js sits in a conditional comment
  text <- gsub("(?s)<!--\\[if lt IE 9\\]>.*?<!\\[endif\\]-->", "", text, perl = TRUE)
  text <- sub(js, paste(c(local, "<script src=\"\\1pkgdown.js\"></script>"), collapse = "\n"), text)
  writeLines(text, path, useBytes = TRUE)
  TRUE
}

pages <- list.files(site, pattern = "\\.html$", recursive = TRUE, full.names = TRUE)
done <- vapply(pages, rewrite_page, logical(1))
left <- pages[vapply(pages, function(p) has_remote(read_page(p)), logical(1))]
if (length(left)) stop("site-offline: remote tags left in ", paste(left, collapse = ", "), call. = FALSE)
cat(sprintf("site-offline: %d of %d pages rewritten to local copies in %s\n", sum(done), length(pages), deps))
