// Types of manifest-program.mjs (plain JavaScript so that bin/webtoon.mjs can load it without tsx).
import type { Command, CommanderError } from 'commander';
import type { CliManifest } from './manifest.ts';

/** Exit status of a usage error (bad flag, missing argument, unknown command), as for the project's UsageError. */
export declare const USAGE_EXIT_CODE: 2;
/** Exit status for an error commander threw under exitOverride: 0 for --help/--version, else a usage error. */
export declare function exitCodeOfCommanderError(err: CommanderError): number;
/** The committed manifest (src/cli/manifest.json). */
export declare function readManifest(file?: URL | string): CliManifest;
/** A commander program shaped like the manifest; every command with an action calls `onAction(command)`. */
export declare function programFromManifest(manifest: CliManifest, opts: { version: string; onAction: (command: Command) => void }): Command;
/** Parse `argv` with the manifest's program: `{ run: true }` when a command should run, else the exit status after commander answered. */
export declare function answerFromManifest(argv: string[], version: string, manifest?: CliManifest): Promise<{ run: true } | { exitCode: number }>;
