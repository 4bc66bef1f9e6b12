"""Where the shipper's threads run: one CPU for all of them (:mod:`shipper.cpu.pin`)."""
