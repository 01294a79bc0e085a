import { execFile } from 'node:child_process'
import { appendFile, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { sha256File } from '../src/download.js'
import { verifySignature } from '../src/php-source.js'
import { actionRoot } from '../src/paths.js'

const run = promisify(execFile)
const script = join(actionRoot(), 'scripts', 'fetch-php-source.sh')

let target: string

async function runScript(folder: string): Promise<{ values: Record<string, string>; stderr: string }> {
  const { stdout, stderr } = await run(script, [folder], { maxBuffer: 1024 * 1024 })
  const values = Object.fromEntries(
    stdout
      .trim()
      .split('\n')
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)])
  )

  return { values, stderr }
}

/** Runs the script's deb_src_entries function on a sources file, sourcing the script without running main. */
async function debSrcEntries(file: string): Promise<string> {
  const { stdout } = await run('bash', ['-c', 'source "$1" && deb_src_entries "$2"', 'deb-src-test', script, file])
  return stdout
}

beforeAll(async () => {
  target = await mkdtemp(join(tmpdir(), 'fetch-php-source-test-'))
})

afterAll(async () => {
  await rm(target, { recursive: true, force: true })
})

describe('fetch-php-source.sh', () => {
  // The first run downloads from Debian's archive (about 12 MB), trying older versions on failure.
  it('fetches a signed PHP 8.2 tarball', async () => {
    const { values } = await runScript(target)
    const tarball = join(target, `php-${values['version']}.tar.xz`)

    expect(values['version']).toMatch(/^8\.2\.\d+$/)
    expect(values['tarball']).toBe(tarball)
    expect(values['signature']).toBe(`${tarball}.asc`)
    expect(values['keyring']).toBe(join(target, 'php-keyring.gpg'))
    expect(values['sha256']).toBe(await sha256File(tarball))
    expect((await readdir(target)).sort()).toEqual([`php-${values['version']}.tar.xz`, `php-${values['version']}.tar.xz.asc`, 'php-keyring.gpg'])

    const signature = await verifySignature(tarball, `${tarball}.asc`, join(target, 'php-keyring.gpg'))
    expect(signature.status).toBe('verified')
  }, 300_000)

  it('reuses files already present', async () => {
    const first = await runScript(target)
    const second = await runScript(target)

    expect(second.values).toEqual(first.values)
    expect(second.stderr).toContain(`reusing ${first.values['tarball']}`)
    expect(second.stderr).not.toContain('downloading')
  })

  it('replaces a tarball whose signature fails', async () => {
    const { values } = await runScript(target)
    const tarball = values['tarball'] as string
    await appendFile(tarball, 'tampered')

    const again = await runScript(target)

    expect(again.stderr).toContain(`ignoring ${tarball}: its signature does not verify`)
    expect(again.values['sha256']).toBe(values['sha256'])
    expect(await sha256File(tarball)).toBe(values['sha256'])
  }, 300_000)
})

describe('deb_src_entries', () => {
  let folder: string

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'deb-src-test-'))
  })

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true })
  })

  it('converts deb822 stanzas of Debian archives', async () => {
    const file = join(folder, 'debian.sources')
    await writeFile(
      file,
      [
        'Types: deb',
        'URIs: http://deb.debian.org/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        '',
        'Types: deb',
        'URIs: https://deb.nodesource.com/node_20.x',
        'Suites: nodistro',
        'Components: main',
        '',
        'Types: deb',
        'Enabled: no',
        'URIs: http://deb.debian.org/debian',
        'Suites: trixie',
        'Components: main',
        '',
        'Types: deb deb-src',
        'URIs: http://deb.debian.org/debian-security',
        'Suites: bookworm-security',
        'Components: main',
        ''
      ].join('\n')
    )

    expect(await debSrcEntries(file)).toBe(
      [
        'Types: deb-src',
        'URIs: http://deb.debian.org/debian',
        'Suites: bookworm bookworm-updates',
        'Components: main',
        'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
        ''
      ].join('\n')
    )
  })

  it('converts one-line entries of Debian archives', async () => {
    const file = join(folder, 'sources.list')
    await writeFile(
      file,
      [
        'deb http://deb.debian.org/debian bookworm main',
        '# deb http://deb.debian.org/debian bookworm contrib',
        'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://security.debian.org/debian-security bookworm-security main',
        'deb https://packages.cloud.google.com/apt cloud-sdk-bookworm main',
        ''
      ].join('\n')
    )

    expect(await debSrcEntries(file)).toBe(
      [
        'deb-src http://deb.debian.org/debian bookworm main',
        'deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://security.debian.org/debian-security bookworm-security main',
        ''
      ].join('\n')
    )
  })
})
