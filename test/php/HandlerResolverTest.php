<?php

declare(strict_types=1);

namespace LambdaRuntime\Tests;

use LambdaRuntime\HandlerLocation;
use LambdaRuntime\HandlerResolver;
use LambdaRuntime\RuntimeError;
use PHPUnit\Framework\TestCase;

/**
 * Functions and classes are global in PHP and cannot be declared twice, so every test writes
 * handler files with names of its own.
 */
final class HandlerResolverTest extends TestCase
{
    private TemporaryFiles $files;

    private HandlerResolver $resolver;

    protected function setUp(): void
    {
        $this->files = new TemporaryFiles();
        $this->resolver = new HandlerResolver($this->files->root);
    }

    private static function uniqueName(string $prefix): string
    {
        return $prefix . bin2hex(random_bytes(5));
    }

    /** Locates, loads and resolves a handler the way runtime.php does. */
    private function load(string $handler): \Closure
    {
        $location = $this->resolver->locate($handler);

        return $this->resolver->resolve($location, require $location->file);
    }

    private function assertRuntimeError(string $errorType, string $messagePart, callable $action): void
    {
        try {
            $action();
            $this->fail("Expected RuntimeError {$errorType}");
        } catch (RuntimeError $error) {
            $this->assertSame($errorType, $error->errorType);
            $this->assertStringContainsString($messagePart, $error->getMessage());
        }
    }

    public function testFunctionHandler(): void
    {
        $function = self::uniqueName('main_');
        $this->files->write('hello.php', "<?php function {$function}(\$event, \$context) { return [\$event, \$context]; }");

        $handler = $this->load("hello.{$function}");

        $this->assertSame([['a' => 1], 'ctx'], $handler(['a' => 1], 'ctx'));
    }

    public function testLocationOfFunction(): void
    {
        $this->files->write('src/api/hello.php', '<?php');

        $location = $this->resolver->locate('src/api/hello.main');

        $this->assertSame(HandlerLocation::FUNCTION, $location->kind);
        $this->assertSame("{$this->files->root}/src/api/hello.php", $location->file);
        $this->assertSame('main', $location->name);
    }

    public function testNamespacedFunctionHandler(): void
    {
        $namespace = self::uniqueName('App');
        $this->files->write('ns.php', "<?php namespace {$namespace}\\Handlers; function main(\$event) { return 'namespaced ' . \$event; }");

        $handler = $this->load("ns.{$namespace}\\Handlers\\main");

        $this->assertSame('namespaced x', $handler('x', null));
    }

    public function testStaticMethodHandler(): void
    {
        $class = self::uniqueName('StaticHandler');
        $this->files->write('static.php', "<?php final class {$class} { public static function handle(\$event) { return \$event * 2; } }");

        $handler = $this->load("static.{$class}::handle");

        $this->assertSame(42, $handler(21, null));
    }

    public function testInstanceMethodHandler(): void
    {
        $class = self::uniqueName('InstanceHandler');
        $this->files->write('instance.php', "<?php namespace App; final class {$class} { private int \$calls = 0; public function run(\$event) { return ++\$this->calls; } }");

        $handler = $this->load("instance.App\\{$class}::run");

        $this->assertSame(1, $handler(null, null));
        $this->assertSame(2, $handler(null, null), 'one instance serves every call');
    }

    public function testFileReturningClosure(): void
    {
        $this->files->write('index.php', '<?php return static fn (array $event) => $event["n"] + 1;');

        $handler = $this->load('index.php');

        $this->assertSame(6, $handler(['n' => 5], null));
    }

    public function testFileReturningInvokableObject(): void
    {
        $this->files->write('invokable.php', '<?php return new class { public function __invoke($event) { return "invoked"; } };');

        $this->assertSame('invoked', $this->load('invokable.php')(null, null));
    }

    public function testFileReturningObjectWithHandle(): void
    {
        $this->files->write('handle.php', '<?php return new class { public function handle($event, $context) { return "handled"; } public function __invoke() { return "invoked"; } };');

        $this->assertSame('handled', $this->load('handle.php')(null, null), 'handle() wins over __invoke()');
    }

    public function testFileInSubfolder(): void
    {
        $this->files->write('public/index.php', '<?php return fn () => "sub";');

        $this->assertSame('sub', $this->load('public/index.php')(null, null));
    }

    public function testEmptyHandler(): void
    {
        $this->assertRuntimeError('Runtime.MalformedHandlerName', '_HANDLER is empty', fn () => $this->resolver->locate('  '));
    }

    /** @return array<string, array{string}> */
    public static function malformedHandlers(): array
    {
        return [
            'no dot' => ['hello'],
            'trailing dot' => ['hello.'],
            'leading dot' => ['.main'],
            'dash in function' => ['hello.my-function'],
            'empty method' => ['hello.Handler::'],
            'digit first' => ['hello.1main'],
        ];
    }

    /** @dataProvider malformedHandlers */
    public function testMalformedHandler(string $handler): void
    {
        $this->assertRuntimeError('Runtime.MalformedHandlerName', "_HANDLER={$handler}", fn () => $this->resolver->locate($handler));
    }

    public function testMissingFile(): void
    {
        $this->assertRuntimeError(
            'Runtime.HandlerNotFound',
            "Handler file {$this->files->root}/missing.php not found or not readable (_HANDLER=missing.main, LAMBDA_TASK_ROOT={$this->files->root})",
            fn () => $this->resolver->locate('missing.main'),
        );
    }

    public function testMissingFunction(): void
    {
        $this->files->write('nofunction.php', '<?php');

        $this->assertRuntimeError(
            'Runtime.HandlerNotFound',
            "Function absent_function_x() not found after loading {$this->files->root}/nofunction.php (_HANDLER=nofunction.absent_function_x)",
            fn () => $this->load('nofunction.absent_function_x'),
        );
    }

    public function testMissingClass(): void
    {
        $this->files->write('noclass.php', '<?php');

        $this->assertRuntimeError('Runtime.HandlerNotFound', 'Class App\AbsentClass not found after loading', fn () => $this->load('noclass.App\AbsentClass::handle'));
    }

    public function testMissingMethod(): void
    {
        $class = self::uniqueName('NoMethod');
        $this->files->write('nomethod.php', "<?php final class {$class} {}");

        $this->assertRuntimeError('Runtime.HandlerNotFound', "Method {$class}::handle() not found", fn () => $this->load("nomethod.{$class}::handle"));
    }

    public function testPrivateMethod(): void
    {
        $class = self::uniqueName('PrivateMethod');
        $this->files->write('private.php', "<?php final class {$class} { private function handle() {} }");

        $this->assertRuntimeError('Runtime.InvalidHandler', "Method {$class}::handle() must be public", fn () => $this->load("private.{$class}::handle"));
    }

    public function testConstructorWithArguments(): void
    {
        $class = self::uniqueName('NeedsArguments');
        $this->files->write('ctor.php', "<?php final class {$class} { public function __construct(\$db) {} public function handle() {} }");

        $this->assertRuntimeError('Runtime.InvalidHandler', "Class {$class} needs constructor arguments", fn () => $this->load("ctor.{$class}::handle"));
    }

    public function testAbstractClassInstanceMethod(): void
    {
        $class = self::uniqueName('AbstractHandler');
        $this->files->write('abstract.php', "<?php abstract class {$class} { public function handle() {} }");

        $this->assertRuntimeError('Runtime.InvalidHandler', "Class {$class} cannot be instantiated", fn () => $this->load("abstract.{$class}::handle"));
    }

    public function testFileReturningNothing(): void
    {
        $this->files->write('noreturn.php', '<?php $x = 1;');

        $this->assertRuntimeError('Runtime.InvalidHandler', 'noreturn.php returned nothing (int 1)', fn () => $this->load('noreturn.php'));
    }

    public function testFileReturningArrayOfData(): void
    {
        $this->files->write('data.php', '<?php return ["not", "callable"];');

        $this->assertRuntimeError('Runtime.InvalidHandler', 'data.php returned array', fn () => $this->load('data.php'));
    }

    public function testParseErrorSurfacesAsParseError(): void
    {
        $this->files->write('broken.php', '<?php function (');

        $this->expectException(\ParseError::class);

        $this->load('broken.main');
    }

    public function testAbsolutePath(): void
    {
        $file = $this->files->write('abs/index.php', '<?php return fn () => "absolute";');
        $resolver = new HandlerResolver('/nonexistent-task-root');

        $location = $resolver->locate($file);

        $this->assertSame($file, $location->file);
    }
}
