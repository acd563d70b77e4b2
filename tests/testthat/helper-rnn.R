# The fused RNN op's parameter count (MXNet's flat vector), for test-rnn.R
# and test-rnn-device.R.

rnn_gates <- function(mode) switch(mode, lstm = 4L, gru = 3L, 1L)

rnn_nparams <- function(mode, I, H, L, D) {
  G <- rnn_gates(mode)
  ins <- c(I, rep(D * H, L - 1))
  sum(D * G * H * (ins + H)) + L * D * 2 * G * H
}
