// Entry of a data-parallel training replica (worker thread). A Worker does not inherit tsx's loader
// from the thread that starts it, so register tsx here (as bin/webtoon.mjs does), then load the entry.
import { register } from 'tsx/esm/api';

register();
await import('./replica.worker.ts');
