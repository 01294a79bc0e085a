<?php

declare(strict_types=1);

namespace LambdaRuntime;

/** The target of _HANDLER: the PHP file to load and what to call once it is loaded. */
final class HandlerLocation
{
    /** The file returns the handler (a callable or an object with handle()). */
    public const FILE = 'file';

    /** The file declares a function, possibly namespaced. */
    public const FUNCTION = 'function';

    /** The file declares (or autoloads) a class with the handler method. */
    public const METHOD = 'method';

    /**
     * @param string $handler _HANDLER as Lambda sets it
     * @param string $file absolute path of the PHP file
     * @param string $kind FILE, FUNCTION or METHOD
     * @param string|null $class class name without leading backslash (METHOD only)
     * @param string|null $name function or method name (FUNCTION and METHOD)
     */
    public function __construct(
        public readonly string $handler,
        public readonly string $file,
        public readonly string $kind,
        public readonly ?string $class = null,
        public readonly ?string $name = null,
    ) {
    }
}
