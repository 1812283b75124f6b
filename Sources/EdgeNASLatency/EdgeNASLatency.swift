// Device profiles, block signatures, latency tables and prediction (see the files beside this one).
