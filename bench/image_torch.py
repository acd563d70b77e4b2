# The PyTorch side of bench/image-bench.R (issue 10): the same opencv-doc
# photographs through torchvision's pipeline -- read the file, decode_image
# (RGB), Resize(256) on the short side, RandomCrop(224), RandomHorizontalFlip,
# float conversion and Normalize -- in a DataLoader with batches of 32.
# Prints "workers img_per_s" for 1 and 2 worker processes, each a mean over
# whole epochs after a warm-up epoch.
#   /usr/bin/python3 bench/image_torch.py [epochs]
import glob
import os
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms
from torchvision.io import ImageReadMode, decode_image, read_file

epochs = int(sys.argv[1]) if len(sys.argv) > 1 else 2
files = sorted(f for f in glob.glob("/usr/share/doc/opencv-doc/**/*", recursive=True)
               if f.endswith((".jpg", ".jpeg")))   # as bench/image-bench.R lists them
if not files:
    sys.exit("install opencv-doc for the photographs")

pipeline = transforms.Compose([
    transforms.Resize(256, antialias=False),   # bilinear, as ours (no antialiasing filter)
    transforms.RandomCrop(224),
    transforms.RandomHorizontalFlip(),
    transforms.ConvertImageDtype(torch.float32),
    transforms.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


class Photos(Dataset):
    def __len__(self):
        return len(files)

    def __getitem__(self, i):
        img = decode_image(read_file(files[i]), mode=ImageReadMode.RGB)
        return pipeline(img), 0


def one_thread(_):
    torch.set_num_threads(1)


def rate(workers):
    loader = DataLoader(Photos(), batch_size=32, shuffle=True, num_workers=workers,
                        worker_init_fn=one_thread, persistent_workers=True, prefetch_factor=4)
    for _ in loader:              # warm-up epoch
        pass
    n, t0 = 0, time.time()
    for _ in range(epochs):
        for x, _ in loader:
            n += x.shape[0]
    return n / (time.time() - t0)


if __name__ == "__main__":
    torch.set_num_threads(1)
    print("%d photographs" % len(files))
    for w in (1, 2):
        print("%d %.1f" % (w, rate(w)))
        sys.stdout.flush()
