// Entry of the audit worker thread. A Worker does not inherit tsx's loader from the thread that starts
// it, so register tsx here (as bin/webtoon.mjs does) and then load the TypeScript entry.
import { register } from 'tsx/esm/api';

register();
await import('./audit.worker.ts');
