import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, afterEach, beforeAll, expect, test } from '@jest/globals'

import { RuntimeApiEmulator, RuntimeProcess, type RuntimeProcessOptions } from '../src/emulator/index.js'
import { ManualClock, waitUntil } from './emulator-support.js'

// A small runtime in plain Node (no AWS client), so each test can make it crash, hang,
// exit or report its environment through the event it sends.
const RUNTIME_SOURCE = `
import http from 'node:http'

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
const [host, port] = process.env.AWS_LAMBDA_RUNTIME_API.split(':')

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const request = http.request({ host, port, method, path, agent, headers: body === undefined ? {} : { 'Content-Length': Buffer.byteLength(body) } }, (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk) => { text += chunk })
      response.on('end', () => resolve({ status: response.statusCode, headers: response.headers, body: text }))
    })
    request.on('error', reject)
    request.end(body)
  })
}

console.log('init pid=' + process.pid)
console.error('init on stderr')
if (process.env.INIT_EXIT !== undefined) process.exit(Number(process.env.INIT_EXIT))

let count = 0
for (;;) {
  const next = await call('GET', '/2018-06-01/runtime/invocation/next')
  const requestId = next.headers['lambda-runtime-aws-request-id']
  const event = JSON.parse(next.body)
  count += 1
  console.log('handling ' + requestId)

  if (event.crash !== undefined) process.exit(event.crash)
  if (event.hang === true) await new Promise((resolve) => setTimeout(resolve, 3_600_000))

  const payload = event.env === true ? { env: process.env, cwd: process.cwd() } : { count, pid: process.pid, event }
  await call('POST', '/2018-06-01/runtime/invocation/' + requestId + '/response', JSON.stringify(payload))
  if (event.exitAfter === true) process.exit(0)
}
`

let folder: string
let runtimePath: string
let emulator: RuntimeApiEmulator | undefined
let runtime: RuntimeProcess | undefined

beforeAll(() => {
  folder = mkdtempSync(join(tmpdir(), 'emulator-process-'))
  runtimePath = join(folder, 'runtime.mjs')
  writeFileSync(runtimePath, RUNTIME_SOURCE)
})

afterAll(() => {
  rmSync(folder, { recursive: true, force: true })
})

afterEach(async () => {
  await runtime?.stop()
  await emulator?.stop()
  runtime = undefined
  emulator = undefined
})

async function startRuntime(options: Partial<RuntimeProcessOptions> = {}, clock?: ManualClock): Promise<{ emulator: RuntimeApiEmulator, runtime: RuntimeProcess }> {
  emulator = new RuntimeApiEmulator({ timeoutMs: 30_000, functionName: 'process-test', memorySizeMb: 512, region: 'eu-west-1', ...(clock === undefined ? {} : { clock }) })
  await emulator.start()
  runtime = new RuntimeProcess({
    emulator,
    command: process.execPath,
    args: [runtimePath],
    handler: 'index.handler',
    taskRoot: folder,
    ...options
  })
  return { emulator, runtime }
}

test('process gets Lambda environment', async () => {
  const { emulator, runtime } = await startRuntime({ optDir: '/layer', env: { EXTRA: 'yes' } })

  const result = await emulator.invoke({ env: true })

  const { env, cwd } = result.json() as { env: Record<string, string>, cwd: string }
  expect(env.AWS_LAMBDA_RUNTIME_API).toBe(emulator.runtimeApi)
  expect(env._HANDLER).toBe('index.handler')
  expect(env.LAMBDA_TASK_ROOT).toBe(folder)
  expect(env.LAMBDA_RUNTIME_DIR).toBe('/var/runtime')
  expect(env.AWS_LAMBDA_FUNCTION_NAME).toBe('process-test')
  expect(env.AWS_LAMBDA_FUNCTION_VERSION).toBe('$LATEST')
  expect(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE).toBe('512')
  expect(env.AWS_LAMBDA_LOG_GROUP_NAME).toBe('/aws/lambda/process-test')
  expect(env.AWS_LAMBDA_LOG_STREAM_NAME).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/)
  expect(env.AWS_LAMBDA_INITIALIZATION_TYPE).toBe('on-demand')
  expect(env.AWS_REGION).toBe('eu-west-1')
  expect(env.AWS_DEFAULT_REGION).toBe('eu-west-1')
  expect(env.TZ).toBe(':UTC')
  expect(env.LANG).toBe('en_US.UTF-8')
  expect(env.PATH).toBe('/var/lang/bin:/usr/local/bin:/usr/bin/:/bin:/layer/bin')
  expect(env.LD_LIBRARY_PATH).toBe(`/var/lang/lib:/lib64:/usr/lib64:/var/runtime:/var/runtime/lib:${folder}:${folder}/lib:/layer/lib`)
  expect(env.EXTRA).toBe('yes')
  expect(env.HOME).toBeUndefined()
  expect(env.AWS_ACCESS_KEY_ID).toBeUndefined()
  expect(cwd).toBe(folder)
  expect(runtime.env.AWS_LAMBDA_RUNTIME_API).toBe(emulator.runtimeApi)
})

test('process output lines collected', async () => {
  const { emulator, runtime } = await startRuntime()

  const result = await emulator.invoke({})
  const handled = await runtime.waitForLine(`handling ${result.requestId}`)
  const stderrLine = await runtime.waitForLine('init on stderr')

  expect(handled).toEqual({ stream: 'stdout', text: `handling ${result.requestId}`, start: 1 })
  expect(stderrLine).toEqual({ stream: 'stderr', text: 'init on stderr', start: 1 })
  expect(runtime.lines.find((line) => line.stream === 'stdout')).toEqual({ stream: 'stdout', text: `init pid=${runtime.pid}`, start: 1 })
  expect(runtime.output('stderr')).toBe('init on stderr')
})

test('warm process keeps state', async () => {
  const { emulator, runtime } = await startRuntime()

  const first = (await emulator.invoke({})).json() as { count: number, pid: number }
  const second = (await emulator.invoke({})).json() as { count: number, pid: number }

  expect(first.count).toBe(1)
  expect(second.count).toBe(2)
  expect(second.pid).toBe(first.pid)
  expect(runtime.starts).toBe(1)
})

test('crash fails invocation and restarts', async () => {
  const { emulator, runtime } = await startRuntime()

  const crashed = await emulator.invoke({ crash: 3 })
  const after = await emulator.invoke({})

  expect(crashed.outcome).toBe('exit')
  expect(crashed.errorType).toBe('Runtime.ExitError')
  expect(crashed.json()).toEqual({
    errorType: 'Runtime.ExitError',
    errorMessage: `RequestId: ${crashed.requestId} Error: Runtime exited with error: exit status 3`
  })
  expect(runtime.exits[0]).toEqual({ code: 3, signal: null })
  expect(after.outcome).toBe('response')
  expect((after.json() as { count: number }).count).toBe(1)
  expect(runtime.starts).toBe(2)
})

test('timeout kills process and restarts', async () => {
  const clock = new ManualClock()
  const { emulator, runtime } = await startRuntime({}, clock)

  const hanging = emulator.invoke({ hang: true })
  await waitUntil(() => emulator.requests.some((record) => record.status === 200), 'the runtime received the event')
  clock.advance(30_000)
  const timedOut = await hanging
  const after = await emulator.invoke({})

  expect(timedOut.outcome).toBe('timeout')
  expect(runtime.exits[0]).toEqual({ code: null, signal: 'SIGKILL' })
  expect(after.outcome).toBe('response')
  expect(runtime.starts).toBe(2)
})

test('init crash fails invocation', async () => {
  const { emulator, runtime } = await startRuntime({ env: { INIT_EXIT: '2' } })

  const result = await emulator.invoke({})

  expect(result.outcome).toBe('exit')
  expect((result.json() as { errorMessage: string }).errorMessage).toBe(`RequestId: ${result.requestId} Error: Runtime exited with error: exit status 2`)
  expect(runtime.exitCode).toBe(2)
})

test('missing command fails invocation', async () => {
  const { emulator } = await startRuntime({ command: join(folder, 'no-such-bootstrap'), args: [] })

  const result = await emulator.invoke({})

  expect(result.outcome).toBe('exit')
  expect(result.errorType).toBe('Runtime.InvalidEntrypoint')
  expect((result.json() as { errorMessage: string }).errorMessage).toContain('ENOENT')
})

test('exit between invocations restarts', async () => {
  const { emulator, runtime } = await startRuntime()

  const first = await emulator.invoke({ exitAfter: true })
  const second = await emulator.invoke({})

  expect(first.outcome).toBe('response')
  expect(second.outcome).toBe('response')
  expect((second.json() as { count: number }).count).toBe(1)
  expect(runtime.starts).toBe(2)
})

test('start before first invoke', async () => {
  const { emulator, runtime } = await startRuntime()

  await runtime.start()
  await runtime.waitForLine('init pid=')
  const result = await emulator.invoke({})

  expect(result.outcome).toBe('response')
  expect(runtime.starts).toBe(1)
})

test('stop ends process with SIGTERM', async () => {
  const { runtime } = await startRuntime()
  await runtime.start()

  const exit = await runtime.stop()

  expect(exit).toEqual({ code: null, signal: 'SIGTERM' })
  expect(runtime.running).toBe(false)
})
