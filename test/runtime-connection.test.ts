// Checks the socket options and connection reuse of the runtime's HTTP client from the system
// calls PHP makes, traced with strace, because neither is visible in the HTTP traffic itself.
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { BOOTSTRAP, expectOutcome, startRuntime, stopAllRuntimes } from './runtime-support.js'

let workDir: string

beforeEach(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'runtime-connection-'))
})

afterEach(async () => {
  await stopAllRuntimes()
  await rm(workDir, { recursive: true, force: true })
})

describe('runtime HTTP connection', () => {
  it('sets TCP_NODELAY and keeps one connection', async () => {
    const trace = join(workDir, 'strace.log')
    const { invoke, emulator, stop } = await startRuntime('functions.noop', {
      command: 'strace',
      args: ['-f', '-qq', '-e', 'trace=connect,setsockopt', '-o', trace, BOOTSTRAP]
    })

    const port = emulator.port
    for (let i = 0; i < 5; i++) {
      expectOutcome(await invoke({ i }), 'response')
    }
    await stop()

    const calls = (await readFile(trace, 'utf8')).split('\n')
    const connects = calls.filter((line) => line.includes('connect(') && line.includes(`sin_port=htons(${port})`))
    const noDelay = calls.filter((line) => /setsockopt\(\d+, SOL_TCP, TCP_NODELAY, \[1\], 4\)/.test(line))

    expect(connects).toHaveLength(1)
    expect(noDelay).toHaveLength(1)
  })
})
