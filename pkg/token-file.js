// The CLI's user session (datacosmos-auth login, token --user, logout): one JSON file
// in the user's config directory, mode 0600 in a directory made 0700, replaced by
// write-to-temp + fsync + rename (never half written), and read, refreshed and written
// under a cross-process lock (proper-lockfile: a `<file>.lock` directory whose mtime
// its holder keeps fresh; a lock not refreshed for 10 s is stale and taken over), so
// that two processes never both spend the single-use refresh token.
import { randomBytes } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeSync } from "node:fs";
import { homedir } from "node:os";
import { basename, dirname, isAbsolute, join, resolve } from "node:path";
import lockfile from "proper-lockfile";

/** The file format's version (`version` member). */
export const FORMAT = 1;
/** UserLogin's `storageKey` for the file: its entries are `user:refresh` and `user:token`. */
export const STORAGE_KEY = "user";
// UserLogin's storage entries and the file members that hold them.
const MEMBERS = { [`${STORAGE_KEY}:refresh`]: "refresh_token", [`${STORAGE_KEY}:token`]: "token" };

const nonEmpty = (v) => (typeof v === "string" && v.length > 0 ? v : undefined);

/**
 * Where the session file is: `DATACOSMOS_USER_TOKEN_FILE`; else on Windows
 * `%APPDATA%\datacosmos-auth\user.json`; else `$XDG_CONFIG_HOME/datacosmos-auth/user.json`
 * (an absolute XDG_CONFIG_HOME only, as the XDG Base Directory spec says), else
 * `~/.config/datacosmos-auth/user.json`.
 */
export function tokenFilePath(env = process.env, platform = process.platform) {
  const given = nonEmpty(env.DATACOSMOS_USER_TOKEN_FILE);
  if (given) return resolve(given);
  const xdg = nonEmpty(env.XDG_CONFIG_HOME);
  const base = platform === "win32"
    ? nonEmpty(env.APPDATA) ?? join(homedir(), "AppData", "Roaming")
    : xdg && isAbsolute(xdg) ? xdg : join(homedir(), ".config");
  return join(base, "datacosmos-auth", "user.json");
}

/** A problem with the file itself (unreadable, not ours, cannot be written or locked). */
export class TokenFileError extends Error {}

/** `text` written to `path` atomically: a temporary file beside it (0600), fsync, rename. */
function writeAtomic(path, text) {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(temp, "wx", 0o600);
  try {
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (e) {
    rmSync(temp, { force: true });
    throw e;
  }
  // The rename itself reaches the disk with the directory (POSIX; Windows cannot open one).
  if (process.platform !== "win32") {
    try {
      const d = openSync(dir, "r");
      try {
        fsyncSync(d);
      } finally {
        closeSync(d);
      }
    } catch {
      // Some file systems refuse a directory fsync; the rename is done all the same.
    }
  }
}

/**
 * The session file at `path`. `data` is its JSON object (null: no file), read by
 * `load()`; `storage()` is the Web Storage-like object UserLogin keeps its refresh token
 * and access-token entry in, each change written to the file at once.
 */
export class TokenFile {
  /** @param {string} path */
  constructor(path) {
    this.path = path;
    this.data = null;
    /** The last write that failed (UserLogin's session swallows its storage's errors). */
    this.writeError = null;
  }

  /** Reads the file: its object, or null when there is none. @throws {TokenFileError} */
  load() {
    let text;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (e) {
      if (e.code === "ENOENT") return (this.data = null);
      throw new TokenFileError(`cannot read ${this.path}: ${e.code ?? e.message}`);
    }
    let data;
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
    if (data === null || typeof data !== "object" || data.version !== FORMAT || typeof data.client_id !== "string") {
      throw new TokenFileError(`${this.path} is not a datacosmos-auth session file (delete it if it is a damaged one)`);
    }
    return (this.data = data);
  }

  /** Writes `data` (atomically, 0600). @throws the file system's error */
  save() {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    writeAtomic(this.path, `${JSON.stringify(this.data, null, 2)}\n`);
  }

  /** Deletes the file; whether there was one. */
  remove() {
    try {
      rmSync(this.path);
      return true;
    } catch (e) {
      if (e.code === "ENOENT") return false;
      throw new TokenFileError(`cannot delete ${this.path}: ${e.code ?? e.message}`);
    }
  }

  /**
   * Takes the cross-process lock of the file (creating its directory, 0700), waiting up
   * to about a minute for another process to give it back. Resolves the release function.
   * @throws {TokenFileError} when the lock stays taken.
   */
  async lock() {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o700 });
    try {
      return await lockfile.lock(this.path, {
        realpath: false,
        stale: 10_000,
        retries: { retries: 150, factor: 1.2, minTimeout: 20, maxTimeout: 400, randomize: true },
        // Another process took the lock as stale while this one held it: this one's
        // writes may now race; it says so and goes on (its own write is still atomic).
        onCompromised: (e) => process.stderr.write(`datacosmos-auth: warning: the lock of ${this.path} was lost: ${e.code ?? e.message}\n`),
      });
    } catch (e) {
      throw new TokenFileError(e.code === "ELOCKED"
        ? `${this.path} stays locked by another datacosmos-auth process`
        : `cannot lock ${this.path}: ${e.code ?? e.message}`);
    }
  }

  /** The Web Storage interface over `data` (UserLogin's `storage`, storageKey {@link STORAGE_KEY}). */
  storage() {
    const member = (key) => MEMBERS[key] ?? null;
    const write = (change) => {
      if (this.data === null) return;
      change(this.data);
      try {
        this.save();
      } catch (e) {
        this.writeError = e;
        throw e;
      }
    };
    return {
      getItem: (key) => {
        const m = member(key);
        const v = m === null || this.data === null || !Object.hasOwn(this.data, m) ? undefined : this.data[m];
        return typeof v === "string" ? v : null;
      },
      setItem: (key, value) => {
        const m = member(key);
        if (m !== null) write((d) => { d[m] = String(value); });
      },
      removeItem: (key) => {
        const m = member(key);
        if (m !== null && this.data !== null && Object.hasOwn(this.data, m)) write((d) => { delete d[m]; });
      },
    };
  }
}
