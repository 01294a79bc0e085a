// The docker flavour of the smoke test. No Docker engine runs on the machines these tests were
// written on, so they check the exact `docker run` command line. Then they run the flavour's
// invoke client and checks against a stand-in container: the Runtime API emulator, whose invoke
// route follows AWS's Runtime Interface Emulator, listens on the published port, and the
// layer's bootstrap runs in a bare root with the command line's mounts.

import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, jest, test } from '@jest/globals'

import { createBareRoot, type BareRoot } from '../src/bare-root.js'
import { bareRootCommand, findBareRootSandbox } from '../src/bare-root-sandbox.js'
import { RuntimeApiEmulator, RuntimeProcess } from '../src/emulator/index.js'
import { SmokeTestError } from '../src/smoke-checks.js'
import {
  PROVIDED_AL2023_IMAGE,
  dockerSmokeArguments,
  freePort,
  smokeTestDocker,
  type ContainerStarter,
  type SmokeContainer
} from '../src/smoke-test-docker.js'
import { assembleSystemPhpLayer, type SystemPhpLayer } from './smoke-test-support.js'

jest.setTimeout(60_000)

let folder: string
let layer: SystemPhpLayer
let bareRoot: BareRoot

beforeAll(async () => {
  folder = await mkdtemp(join(tmpdir(), 'smoke-test-docker-'))
  layer = await assembleSystemPhpLayer(join(folder, 'layer'))
  bareRoot = await createBareRoot(join(folder, 'root'))
})

afterAll(async () => {
  await rm(folder, { recursive: true, force: true })
})

describe('dockerSmokeArguments', () => {
  test('x86_64 command line', () => {
    const args = dockerSmokeArguments({ layerDir: '/work/layer', taskRoot: '/tmp/task', port: 9123, containerName: 'php-layer-smoke-1' })

    expect(args).toEqual([
      'run', '--rm', '--name', 'php-layer-smoke-1',
      '--platform', 'linux/amd64',
      '--entrypoint', '/usr/local/bin/aws-lambda-rie',
      '-e', '_HANDLER=smoke.handler',
      '-e', 'AWS_LAMBDA_FUNCTION_TIMEOUT=10',
      '-v', '/work/layer:/opt:ro',
      '-v', '/tmp/task:/var/task:ro',
      '-p', '127.0.0.1:9123:8080',
      'public.ecr.aws/lambda/provided:al2023',
      '/opt/bootstrap'
    ])
  })

  test('arm64 with another image and timeout', () => {
    const args = dockerSmokeArguments({
      layerDir: '/l',
      taskRoot: '/t',
      port: 9000,
      containerName: 'c',
      architecture: 'arm64',
      image: 'registry.example/provided:al2023-arm64',
      timeoutSeconds: 30
    })

    expect(args.slice(4, 6)).toEqual(['--platform', 'linux/arm64'])
    expect(args).toContain('AWS_LAMBDA_FUNCTION_TIMEOUT=30')
    expect(args.at(-2)).toBe('registry.example/provided:al2023-arm64')
  })
})

/** Returns the value after each occurrence of `flag` in an argument list. */
function flagValues(args: string[], flag: string): string[] {
  return args.flatMap((arg, index) => (arg === flag ? [args[index + 1] as string] : []))
}

/**
 * Stands in for `docker run`: reads the mounts and the published port from the command line,
 * and serves the emulator's invoke route there with the layer's bootstrap in the bare root.
 */
function standInContainer(commands: Array<{ command: string; args: string[] }>): ContainerStarter {
  return async (command, args): Promise<SmokeContainer> => {
    commands.push({ command, args })
    const volumes = new Map(flagValues(args, '-v').map((volume) => {
      const [hostPath, containerPath] = volume.split(':') as [string, string]
      return [containerPath, hostPath]
    }))
    const port = Number((flagValues(args, '-p')[0] as string).split(':')[1])

    const emulator = new RuntimeApiEmulator({ port, timeoutMs: 10_000, functionName: 'function' })
    await emulator.start()
    const sandbox = await findBareRootSandbox()
    const mounts = { root: bareRoot.dir, layerDir: volumes.get('/opt') as string, taskRoot: volumes.get('/var/task') as string }
    const bootstrap = bareRootCommand(sandbox, mounts, ['/opt/bootstrap'])
    const runtime = new RuntimeProcess({
      command: bootstrap.command,
      args: bootstrap.args,
      emulator,
      handler: flagValues(args, '-e').find((value) => value.startsWith('_HANDLER='))?.slice('_HANDLER='.length),
      taskRoot: '/var/task',
      cwd: mounts.taskRoot,
      env: layer.env
    })

    return {
      output: () => runtime.output(),
      exited: new Promise(() => {}),
      stop: async () => {
        await runtime.stop()
        await emulator.stop()
      }
    }
  }
}

describe('smokeTestDocker', () => {
  test('passes against a stand-in container', async () => {
    const commands: Array<{ command: string; args: string[] }> = []

    const result = await smokeTestDocker({
      layerDir: layer.dir,
      phpVersion: layer.phpVersion,
      extensions: ['curl', 'mbstring', 'opcache'],
      startContainer: standInContainer(commands)
    })

    expect(result.environment).toBe('docker')
    expect(result.checks.filter((check) => !check.ok)).toEqual([])
    expect(result.checks.map((check) => check.name)).toEqual([
      'first invocation', 'PHP version', 'extension curl', 'extension mbstring', 'extension opcache', 'extension json', 'error path', 'warm invocation'
    ])
    expect(commands).toHaveLength(1)
    expect(commands[0]?.command).toBe('docker')
    expect(commands[0]?.args).toContain(`${layer.dir}:/opt:ro`)
    expect(commands[0]?.args).toContain(PROVIDED_AL2023_IMAGE)
  })

  test('wrong version fails naming the check', async () => {
    const run = smokeTestDocker({ layerDir: layer.dir, phpVersion: '7.4', extensions: [], startContainer: standInContainer([]) })

    await expect(run).rejects.toThrow(SmokeTestError)
    await expect(run).rejects.toThrow(`PHP version (${layer.phpVersion} (expected 7.4))`)
  })

  test('retries until the emulator listens', async () => {
    const port = await freePort()
    let attempts = 0
    const refusingFetch: typeof fetch = async (input, init) => {
      attempts += 1
      if (attempts < 3) {
        throw new TypeError('fetch failed')
      }
      return fetch(String(input).replace(/:[0-9]+\//, `:${port}/`), init)
    }
    const sleeps: number[] = []

    const result = await smokeTestDocker({
      layerDir: layer.dir,
      phpVersion: layer.phpVersion,
      extensions: ['json'],
      startContainer: async (command, args) => standInContainer([])(command, args.map((arg) => arg.replace(/^127\.0\.0\.1:[0-9]+:8080$/, `127.0.0.1:${port}:8080`))),
      fetch: refusingFetch,
      sleep: async (ms) => {
        sleeps.push(ms)
      }
    })

    expect(result.checks.every((check) => check.ok)).toBe(true)
    expect(sleeps).toEqual([250, 250])
  })

  test('container that exits fails the first invocation', async () => {
    const exitedContainer: ContainerStarter = async () => ({
      output: () => 'docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock.',
      exited: Promise.resolve(125),
      stop: async () => {}
    })

    const run = smokeTestDocker({
      layerDir: layer.dir,
      phpVersion: layer.phpVersion,
      extensions: [],
      startContainer: exitedContainer,
      fetch: async () => {
        throw new TypeError('fetch failed')
      },
      sleep: async () => {}
    })

    await expect(run).rejects.toThrow(/first invocation \(expected a response, got exit: POST http:\/\/127\.0\.0\.1:[0-9]+\/2015-03-31\/functions\/function\/invocations failed: the container exited with status 125\)/)
  })
})
