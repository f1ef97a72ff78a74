// `node --import ./test/helpers/block-typescript.mjs …`: make tsx and every .ts module unloadable in
// that process (the load fails with "blocked: …"), so a test can prove that a `webtoon` call was
// answered from plain JavaScript without the TypeScript loader.
import { register } from 'node:module';

register('./block-typescript.hooks.mjs', import.meta.url);
