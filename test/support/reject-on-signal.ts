// Loaded into a bridge child with `node --import` (NODE_OPTIONS): on SIGUSR2 it makes a
// promise reject with nobody observing it, as a bridge bug would, so a test can show the
// bridge logs it and keeps serving instead of exiting.
process.on('SIGUSR2', () => {
  void Promise.reject(new Error('a rejection nobody observes (test)'));
});
