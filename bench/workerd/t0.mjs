// Imported first by every bench worker: the time at which module evaluation starts.
globalThis.__benchT0 = performance.now();
