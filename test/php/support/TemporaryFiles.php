<?php

declare(strict_types=1);

namespace LambdaRuntime\Tests;

/** A temporary folder for handler files, removed with everything in it on destruction. */
final class TemporaryFiles
{
    public readonly string $root;

    public function __construct()
    {
        $this->root = sys_get_temp_dir() . '/runtime-test-' . bin2hex(random_bytes(6));
        mkdir($this->root, 0700, true);
    }

    /** Writes a file below the root, creating folders, and returns its absolute path. */
    public function write(string $relativePath, string $contents): string
    {
        $path = $this->root . '/' . $relativePath;
        if (!is_dir(dirname($path))) {
            mkdir(dirname($path), 0700, true);
        }
        file_put_contents($path, $contents);

        return $path;
    }

    public function __destruct()
    {
        $files = new \RecursiveIteratorIterator(
            new \RecursiveDirectoryIterator($this->root, \FilesystemIterator::SKIP_DOTS),
            \RecursiveIteratorIterator::CHILD_FIRST,
        );
        foreach ($files as $file) {
            $file->isDir() ? rmdir($file->getPathname()) : unlink($file->getPathname());
        }
        rmdir($this->root);
    }
}
