import { execFileSync } from "node:child_process";
import { createReadStream, existsSync } from "node:fs";
import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  stat,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { AnnexmlError } from "../errors.js";
import { AtomicFileWriter, writeFileAtomic } from "./atomic-writer.js";

const isRoot = process.getuid?.() === 0;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "atomic-writer-"));
});

/** The temporary files the writer leaves in `d` (there should be none). */
async function temps(d: string): Promise<string[]> {
  return (await readdir(d)).filter((name) => name.endsWith(".tmp"));
}

/** Asserts `promise` rejects with a one-line FILE_UNWRITABLE error naming `path` and matching `why`. */
async function expectUnwritable(promise: Promise<unknown>, path: string, why: RegExp) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(AnnexmlError);
  const e = error as AnnexmlError;
  expect(e.code).toBe("FILE_UNWRITABLE");
  expect(e.message.startsWith(`${path}: cannot write file`)).toBe(true);
  expect(e.message).toMatch(why);
  expect(e.message).not.toContain("\n");
}

describe("AtomicFileWriter on regular files", () => {
  it("keeps the previous file until commit, then replaces it with its permission bits", async () => {
    const path = join(dir, "out.txt");
    await writeFile(path, "old\n");
    await chmod(path, 0o640);
    const writer = await AtomicFileWriter.open(path);
    await writer.write("new ");
    await writer.write(new Uint8Array(2 << 20).fill(65)); // a large chunk goes out uncopied
    await writer.write("end\n");
    expect(await readFile(path, "utf8")).toBe("old\n");
    expect(await temps(dir)).toHaveLength(1);
    await writer.commit();
    const text = await readFile(path, "utf8");
    expect(text.length).toBe(4 + (2 << 20) + 4);
    expect(text.startsWith("new AAA")).toBe(true);
    expect(text.endsWith("AAend\n")).toBe(true);
    expect((await stat(path)).mode & 0o777).toBe(0o640);
    expect(await temps(dir)).toEqual([]);
  });

  it("creates a new file; abort leaves neither it nor a temporary file", async () => {
    const path = join(dir, "new.txt");
    await writeFileAtomic(path, ["a", "b"]);
    expect(await readFile(path, "utf8")).toBe("ab");
    const other = join(dir, "aborted.txt");
    const writer = await AtomicFileWriter.open(other);
    await writer.write("x");
    await writer.abort();
    expect(existsSync(other)).toBe(false);
    expect(await temps(dir)).toEqual([]);
  });

  it("fails in one line naming the file when its directory does not exist", async () => {
    const path = join(dir, "missing", "out.txt");
    await expectUnwritable(AtomicFileWriter.open(path), path, /directory .*missing does not exist/);
    expect(existsSync(join(dir, "missing"))).toBe(false);
  });

  it("refuses a directory as target", async () => {
    await mkdir(join(dir, "sub"));
    await expectUnwritable(AtomicFileWriter.open(join(dir, "sub")), join(dir, "sub"), /EISDIR/);
    expect(await temps(dir)).toEqual([]);
  });

  // Root ignores permission bits, so this case runs only as another user.
  it.skipIf(isRoot)(
    "fails in a read-only directory, leaving the previous file (not as root)",
    async () => {
      const ro = join(dir, "ro");
      await mkdir(ro);
      await writeFile(join(ro, "out.txt"), "old");
      await chmod(ro, 0o555);
      try {
        await expectUnwritable(
          AtomicFileWriter.open(join(ro, "out.txt")),
          join(ro, "out.txt"),
          /EACCES/,
        );
        expect(await readdir(ro)).toEqual(["out.txt"]);
        expect(await readFile(join(ro, "out.txt"), "utf8")).toBe("old");
      } finally {
        await chmod(ro, 0o755);
      }
    },
  );

  // sysfs refuses new files even to root: a directory where writes really fail.
  it.skipIf(!existsSync("/sys/kernel"))(
    "fails where even root cannot create files (/sys)",
    async () => {
      const path = "/sys/annexml-test.txt";
      await expectUnwritable(AtomicFileWriter.open(path), path, /\((EACCES|EROFS|EPERM)\)/);
      expect(existsSync(path)).toBe(false);
    },
  );
});

describe("AtomicFileWriter through symlinks", () => {
  it("replaces the target of a chain of links; the links stay links", async () => {
    const real = join(dir, "data");
    await mkdir(real);
    await writeFile(join(real, "file.txt"), "old");
    await symlink(join(real, "file.txt"), join(dir, "link1"));
    await symlink("link1", join(dir, "link2")); // relative, to another link
    await writeFileAtomic(join(dir, "link2"), ["new"]);
    expect(await readFile(join(real, "file.txt"), "utf8")).toBe("new");
    expect((await lstat(join(dir, "link1"))).isSymbolicLink()).toBe(true);
    expect((await lstat(join(dir, "link2"))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(dir, "link2"))).toBe("link1");
    expect(await temps(dir)).toEqual([]);
    expect(await temps(real)).toEqual([]);
  });

  it("writes the temporary file in the target's directory", async () => {
    const real = join(dir, "data");
    await mkdir(real);
    await symlink(join(real, "file.txt"), join(dir, "link"));
    const writer = await AtomicFileWriter.open(join(dir, "link"));
    expect(writer.target).toBe(join(real, "file.txt"));
    expect(await temps(real)).toHaveLength(1);
    expect(await temps(dir)).toEqual([]);
    await writer.abort();
    expect(await temps(real)).toEqual([]);
  });

  it("writes through a dangling link, creating its target (like a shell's >)", async () => {
    await symlink("created.txt", join(dir, "dangling"));
    await writeFileAtomic(join(dir, "dangling"), ["made"]);
    expect((await lstat(join(dir, "dangling"))).isSymbolicLink()).toBe(true);
    expect(await readFile(join(dir, "created.txt"), "utf8")).toBe("made");
  });

  it("fails on a dangling link into a missing directory, naming the link", async () => {
    await symlink(join(dir, "nowhere", "x.txt"), join(dir, "dangling"));
    await expectUnwritable(
      AtomicFileWriter.open(join(dir, "dangling")),
      join(dir, "dangling"),
      /symlink to .*nowhere.*does not exist/,
    );
  });

  it("fails on a symlink loop", async () => {
    await symlink("b", join(dir, "a"));
    await symlink("a", join(dir, "b"));
    await expectUnwritable(AtomicFileWriter.open(join(dir, "a")), join(dir, "a"), /ELOOP/);
  });
});

describe("AtomicFileWriter on FIFOs and devices", () => {
  it("writes into a named pipe in place: the reader gets everything, the FIFO stays a FIFO", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const chunks: Buffer[] = [];
    const reader = new Promise<Buffer>((resolve, reject) => {
      createReadStream(fifo)
        .on("data", (c) => chunks.push(c as Buffer))
        .on("end", () => resolve(Buffer.concat(chunks)))
        .on("error", reject);
    });
    const lines = Array.from({ length: 100_000 }, (_, i) => `line ${i}\n`);
    await writeFileAtomic(fifo, lines); // ~1.2 MB: more than a pipe buffer
    expect((await reader).toString()).toBe(lines.join(""));
    expect((await lstat(fifo)).isFIFO()).toBe(true);
    expect(await temps(dir)).toEqual([]);
  });

  it("writes through a symlink to a FIFO in place; both stay what they are", async () => {
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    await symlink("pipe", join(dir, "link"));
    const reader = new Promise<string>((resolve, reject) => {
      let text = "";
      createReadStream(fifo, "utf8")
        .on("data", (c) => {
          text += c;
        })
        .on("end", () => resolve(text))
        .on("error", reject);
    });
    await writeFileAtomic(join(dir, "link"), ["through ", "the link\n"]);
    expect(await reader).toBe("through the link\n");
    expect((await lstat(join(dir, "link"))).isSymbolicLink()).toBe(true);
    expect((await lstat(fifo)).isFIFO()).toBe(true);
  });

  // Device nodes need root (CAP_MKNOD); never the real /dev/null or /dev/full.
  it.skipIf(!isRoot)(
    "writes a null device (c 1 3) in place; it stays a device (root only)",
    async () => {
      const node = join(dir, "null");
      execFileSync("mknod", [node, "c", "1", "3"]);
      await writeFileAtomic(node, ["discarded\n".repeat(200_000)]);
      const s = await lstat(node);
      expect(s.isCharacterDevice()).toBe(true);
      expect(s.rdev).toBe((await stat("/dev/null")).rdev);
      expect(await temps(dir)).toEqual([]);
    },
  );

  it.skipIf(!isRoot)(
    "reports ENOSPC of a full device (c 1 7) in one line; it stays a device (root only)",
    async () => {
      const node = join(dir, "full");
      execFileSync("mknod", [node, "c", "1", "7"]);
      await expectUnwritable(
        writeFileAtomic(node, ["some text\n"]),
        node,
        /no space left.*\(ENOSPC\)/,
      );
      expect((await lstat(node)).isCharacterDevice()).toBe(true);
      expect(await temps(dir)).toEqual([]);
    },
  );
});

describe("AtomicFileWriter.abortAllSync", () => {
  it("removes every open writer's temporary file and leaves the targets", async () => {
    await writeFile(join(dir, "a.txt"), "old a");
    const a = await AtomicFileWriter.open(join(dir, "a.txt"));
    const b = await AtomicFileWriter.open(join(dir, "b.txt"));
    const done = await AtomicFileWriter.open(join(dir, "c.txt"));
    await done.commit();
    await a.write("new");
    expect(await temps(dir)).toHaveLength(2);
    expect(AtomicFileWriter.abortAllSync()).toBe(2);
    expect(await temps(dir)).toEqual([]);
    expect(await readFile(join(dir, "a.txt"), "utf8")).toBe("old a");
    expect(existsSync(join(dir, "b.txt"))).toBe(false);
    await expect(a.write("more")).rejects.toThrow(/already closed/);
    await b.abort(); // a no-op now
    expect(AtomicFileWriter.abortAllSync()).toBe(0);
  });

  it("tells a listener how many temporary files may exist", async () => {
    const counts: number[] = [];
    AtomicFileWriter.onLiveChange((n) => counts.push(n));
    try {
      const a = await AtomicFileWriter.open(join(dir, "a.txt"));
      const b = await AtomicFileWriter.open(join(dir, "b.txt"));
      await a.commit();
      await b.abort();
      await AtomicFileWriter.open(join(dir, "c.txt"));
      AtomicFileWriter.abortAllSync();
      await expect(AtomicFileWriter.open(join(dir, "none", "d.txt"))).rejects.toThrow();
      expect(counts).toEqual([1, 2, 1, 0, 1, 0, 1, 0]);
    } finally {
      AtomicFileWriter.onLiveChange(null);
    }
  });
});
