/*
 * zip.c -- CRC-32 (ISO 3309, the zip and gzip checksum) for the stored zip
 * archives that mx.torch.save writes (R/pytorch.R builds the archive).
 * Bitwise, without a table: no shared state, about 1 GB/s is not needed for
 * weight files, a few hundred MB/s is.
 */
#include "mx-io.h"

uint32_t mx_crc32(const uint8_t *buf, size_t len, uint32_t crc) {
  crc = ~crc;
  for (size_t i = 0; i < len; i++) {
    crc ^= buf[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}
