/** The Dockerfile, read as text: stages, user, entrypoint and port agree with the package and the flag table. */
import { describe, expect, it } from 'vitest';
import { FLAGS } from '../../src/config/index.js';
import { parseListenAddress } from '../../src/config/value-parsers.js';
import { readRepoFile, repoFileExists } from '../helpers/deploy.js';
import { dockerfileUser } from '../helpers/dockerfile.js';

const text = readRepoFile('Dockerfile');
const lines = text.split('\n').filter((l) => !/^\s*(#|$)/.test(l));
const stages = lines.filter((l) => /^FROM\s/.test(l));
const finalStage = lines.slice(lines.lastIndexOf(stages.at(-1) as string));
const pkg = JSON.parse(readRepoFile('package.json')) as { bin: Record<string, string>; engines: { node: string } };

describe('Dockerfile', () => {
  it('builds in stages on Node 20 slim', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const s of stages) expect(s).toMatch(/^FROM node:20(?:[.\d]*)?-[a-z]*-?slim\b/);
    expect(pkg.engines.node).toBe('>=20');
    // The runtime stage takes compiled code from a build stage, not a compiler.
    expect(finalStage.join('\n')).toMatch(/COPY --from=\w+ \S*dist/);
    expect(finalStage.join('\n')).not.toMatch(/npm run build/);
  });

  it('runs as an unprivileged numeric user', () => {
    const { uid, gid } = dockerfileUser();
    expect(uid).toBeGreaterThan(0);
    expect(gid).toBeGreaterThan(0);
  });

  it('has promfleet as its entrypoint, the package\'s own bin', () => {
    expect(finalStage).toContain('ENTRYPOINT ["promfleet"]');
    const link = /ln -s (\S+) \/usr\/local\/bin\/promfleet\b/.exec(text);
    const workdir = /^WORKDIR (\S+)$/m.exec(finalStage.join('\n'))?.[1];
    expect(link?.[1]).toBe(`${workdir}/${pkg.bin.promfleet.replace(/^\.\//, '')}`);
    // bin/promfleet.js loads ../dist/src/cli.js: the runtime stage must hold dist/src.
    expect(readRepoFile(pkg.bin.promfleet)).toContain("'../dist/src/cli.js'");
    expect(finalStage.join('\n')).toMatch(/COPY --from=\w+ \S+\/dist\/src \.\/dist\/src/);
    expect(finalStage.join('\n')).toMatch(/COPY bin \.\/bin/);
  });

  it('exposes the default --web.listen-address port', () => {
    const port = parseListenAddress(FLAGS['web.listen-address'].default as string).port;
    expect(finalStage).toContain(`EXPOSE ${port}`);
  });

  it('keeps local state out of the build context', () => {
    expect(repoFileExists('.dockerignore')).toBe(true);
    const ignored = readRepoFile('.dockerignore').split('\n');
    for (const p of ['node_modules', 'dist', '.git']) expect(ignored).toContain(p);
  });
});
