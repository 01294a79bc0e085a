<?php

declare(strict_types=1);

namespace LambdaRuntime;

/**
 * Finds the handler that _HANDLER names, relative to LAMBDA_TASK_ROOT. Accepted forms:
 *
 * - `hello.main`: function main() in hello.php (namespaced: `hello.App\main`)
 * - `src/hello.App\Hello::handle`: method handle() of class App\Hello, loaded by src/hello.php;
 *   a static method is called on the class, an instance method on `new App\Hello()`
 * - `index.php`: the file returns the handler, a callable or an object with handle()
 *
 * Resolution has two steps because the runtime loads the file in the global scope (so that
 * its top-level variables are globals, as with `php index.php`): locate() before loading,
 * resolve() with the value the file returned.
 */
final class HandlerResolver
{
    private const NAME = '[A-Za-z_\x80-\xff][A-Za-z0-9_\x80-\xff]*';

    private const FORMS = 'Use file.function (hello.main calls main() in hello.php), '
        . 'file.Class::method (hello.App\Hello::handle), or a .php file that returns the handler (index.php).';

    public function __construct(private readonly string $taskRoot)
    {
    }

    /**
     * Parses _HANDLER and checks that its file exists.
     *
     * @throws RuntimeError Runtime.MalformedHandlerName or Runtime.HandlerNotFound
     */
    public function locate(string $handler): HandlerLocation
    {
        $handler = trim($handler);
        if ($handler === '') {
            throw new RuntimeError(RuntimeError::MALFORMED_HANDLER_NAME, '_HANDLER is empty. ' . self::FORMS);
        }

        $location = $this->parse($handler);

        if (!is_file($location->file) || !is_readable($location->file)) {
            throw new RuntimeError(
                RuntimeError::HANDLER_NOT_FOUND,
                "Handler file {$location->file} not found or not readable (_HANDLER={$handler}, LAMBDA_TASK_ROOT={$this->taskRoot}).",
            );
        }

        return $location;
    }

    /**
     * Returns the handler to call, once the location's file is loaded.
     *
     * @param mixed $fileResult what `require` of the file returned (1 when it has no return statement)
     * @throws RuntimeError Runtime.HandlerNotFound or Runtime.InvalidHandler
     */
    public function resolve(HandlerLocation $location, mixed $fileResult): \Closure
    {
        return match ($location->kind) {
            HandlerLocation::FILE => $this->fromFileResult($location, $fileResult),
            HandlerLocation::FUNCTION => $this->fromFunction($location),
            HandlerLocation::METHOD => $this->fromMethod($location),
        };
    }

    /** @throws RuntimeError */
    private function parse(string $handler): HandlerLocation
    {
        if (str_ends_with($handler, '.php')) {
            return new HandlerLocation($handler, $this->path($handler), HandlerLocation::FILE);
        }

        $dot = strrpos($handler, '.');
        if ($dot === false || $dot === 0 || $dot === strlen($handler) - 1) {
            throw new RuntimeError(RuntimeError::MALFORMED_HANDLER_NAME, "_HANDLER={$handler} names no file and function. " . self::FORMS);
        }

        $file = $this->path(substr($handler, 0, $dot) . '.php');
        $target = ltrim(substr($handler, $dot + 1), '\\');
        $qualifiedName = '(?:' . self::NAME . '\\\\)*' . self::NAME;

        if (preg_match('/^(' . $qualifiedName . ')::(' . self::NAME . ')$/', $target, $match) === 1) {
            return new HandlerLocation($handler, $file, HandlerLocation::METHOD, $match[1], $match[2]);
        }

        if (preg_match('/^' . $qualifiedName . '$/', $target) === 1) {
            return new HandlerLocation($handler, $file, HandlerLocation::FUNCTION, null, $target);
        }

        throw new RuntimeError(RuntimeError::MALFORMED_HANDLER_NAME, "_HANDLER={$handler}: {$target} is not a PHP function or Class::method name. " . self::FORMS);
    }

    private function path(string $relative): string
    {
        if (str_starts_with($relative, '/')) {
            return $relative;
        }

        return rtrim($this->taskRoot, '/') . '/' . $relative;
    }

    /** @throws RuntimeError */
    private function fromFileResult(HandlerLocation $location, mixed $fileResult): \Closure
    {
        if (is_object($fileResult) && is_callable([$fileResult, 'handle'])) {
            return \Closure::fromCallable([$fileResult, 'handle']);
        }

        if (is_callable($fileResult)) {
            return \Closure::fromCallable($fileResult);
        }

        $returned = $fileResult === 1 ? 'nothing (int 1)' : get_debug_type($fileResult);
        throw new RuntimeError(
            RuntimeError::INVALID_HANDLER,
            "{$location->file} returned {$returned}, but _HANDLER={$location->handler} expects it to return the handler: "
            . 'a callable such as static fn (array $event, $context) => ..., or an object with a public __invoke() or handle() method.',
        );
    }

    /** @throws RuntimeError */
    private function fromFunction(HandlerLocation $location): \Closure
    {
        $function = (string) $location->name;
        if (!function_exists($function)) {
            throw new RuntimeError(
                RuntimeError::HANDLER_NOT_FOUND,
                "Function {$function}() not found after loading {$location->file} (_HANDLER={$location->handler}). "
                . 'Declare it in that file; a function inside a namespace needs the namespace in _HANDLER, such as hello.App\main.',
            );
        }

        return \Closure::fromCallable($function);
    }

    /** @throws RuntimeError */
    private function fromMethod(HandlerLocation $location): \Closure
    {
        $class = (string) $location->class;
        $method = (string) $location->name;

        if (!class_exists($class)) {
            throw new RuntimeError(
                RuntimeError::HANDLER_NOT_FOUND,
                "Class {$class} not found after loading {$location->file} (_HANDLER={$location->handler}). "
                . 'Declare it in that file or register an autoloader there (require vendor/autoload.php).',
            );
        }

        if (!method_exists($class, $method)) {
            throw new RuntimeError(
                RuntimeError::HANDLER_NOT_FOUND,
                "Method {$class}::{$method}() not found (_HANDLER={$location->handler}, file {$location->file}).",
            );
        }

        $reflection = new \ReflectionMethod($class, $method);
        if (!$reflection->isPublic()) {
            throw new RuntimeError(RuntimeError::INVALID_HANDLER, "Method {$class}::{$method}() must be public to be a handler (_HANDLER={$location->handler}).");
        }

        if ($reflection->isStatic()) {
            return \Closure::fromCallable([$class, $method]);
        }

        return \Closure::fromCallable([$this->instantiate($class, $location), $method]);
    }

    /** @throws RuntimeError */
    private function instantiate(string $class, HandlerLocation $location): object
    {
        $reflection = new \ReflectionClass($class);
        if (!$reflection->isInstantiable()) {
            throw new RuntimeError(RuntimeError::INVALID_HANDLER, "Class {$class} cannot be instantiated (abstract, interface or private constructor). Make the handler method static (_HANDLER={$location->handler}).");
        }

        $constructor = $reflection->getConstructor();
        if ($constructor !== null && $constructor->getNumberOfRequiredParameters() > 0) {
            throw new RuntimeError(
                RuntimeError::INVALID_HANDLER,
                "Class {$class} needs constructor arguments, but the runtime creates it with new {$class}(). "
                . "Give the parameters defaults, make the handler method static, or return a configured object from a file handler such as index.php (_HANDLER={$location->handler}).",
            );
        }

        return $reflection->newInstance();
    }
}
