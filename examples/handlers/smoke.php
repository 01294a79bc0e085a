<?php

// Smoke-test handler (_HANDLER=smoke.handler). The action invokes it in a freshly built layer
// before anything is published. Events:
//
//   {"extensions": ["curl", "mbstring", ...]}  returns the PHP version and one check per extension
//   {"fail": "message"}                        throws a RuntimeException with that message
//
// Each check loads nothing from the network: it calls the extension with local input only
// (an in-memory SQLite database, a socket bound to 127.0.0.1, a zip file in /tmp).

declare(strict_types=1);

use LambdaRuntime\Context;

/** @return array{phpVersion: string, invocation: int, pid: int, loadedExtensions: list<string>, checks: array<string, array{ok: bool, detail: string}>} */
function handler(array $event, Context $context): array
{
    // Kept between invocations while the PHP process lives, so the caller can see warm starts.
    static $invocation = 0;
    $invocation++;

    if (isset($event['fail'])) {
        throw new RuntimeException((string) $event['fail']);
    }

    $checks = [];
    foreach ($event['extensions'] ?? [] as $extension) {
        $checks[$extension] = check_extension((string) $extension);
    }

    return [
        'phpVersion' => PHP_VERSION,
        'invocation' => $invocation,
        'pid' => getmypid(),
        'loadedExtensions' => get_loaded_extensions(),
        'checks' => $checks,
    ];
}

/**
 * Checks that an extension is loaded and that its typical call works. Any warning during the
 * call counts as a failure.
 *
 * @return array{ok: bool, detail: string}
 */
function check_extension(string $extension): array
{
    // opcache registers itself as the Zend extension "Zend OPcache".
    $module = $extension === 'opcache' ? 'Zend OPcache' : $extension;
    if (!extension_loaded($module)) {
        return ['ok' => false, 'detail' => "extension {$module} is not loaded"];
    }

    $exercise = extension_exercises()[$extension] ?? null;
    if ($exercise === null) {
        return ['ok' => true, 'detail' => 'loaded (no functional check for this extension)'];
    }

    set_error_handler(static function (int $severity, string $message): never {
        throw new ErrorException($message, 0, $severity);
    });
    try {
        return ['ok' => true, 'detail' => $exercise()];
    } catch (Throwable $error) {
        return ['ok' => false, 'detail' => $error::class . ': ' . $error->getMessage()];
    } finally {
        restore_error_handler();
    }
}

/** Throws unless $actual is identical to $expected. */
function require_same(mixed $actual, mixed $expected, string $call): void
{
    if ($actual !== $expected) {
        throw new UnexpectedValueException("{$call} returned " . var_export($actual, true) . ', expected ' . var_export($expected, true));
    }
}

/**
 * One closure per extension: it calls the extension and returns a short description, such as
 * the library version, or throws.
 *
 * @return array<string, Closure(): string>
 */
function extension_exercises(): array
{
    return [
        'apcu' => static function (): string {
            if (!ini_get('apc.enable_cli')) {
                return 'loaded; apc.enable_cli is off, so the cache is disabled in the CLI';
            }
            require_same(apcu_store('smoke', 42), true, 'apcu_store');
            require_same(apcu_fetch('smoke'), 42, 'apcu_fetch');
            return 'store and fetch';
        },
        'bcmath' => static function (): string {
            require_same(bcadd('0.1', '0.2', 1), '0.3', 'bcadd');
            require_same(bcpow('2', '64'), '18446744073709551616', 'bcpow');
            return 'bcadd, bcpow';
        },
        'calendar' => static function (): string {
            require_same(cal_days_in_month(CAL_GREGORIAN, 2, 2024), 29, 'cal_days_in_month');
            return 'cal_days_in_month';
        },
        'ctype' => static function (): string {
            require_same(ctype_digit('2024'), true, "ctype_digit('2024')");
            require_same(ctype_alpha('a1'), false, "ctype_alpha('a1')");
            return 'ctype_digit, ctype_alpha';
        },
        'curl' => static function (): string {
            $handle = curl_init();
            require_same(curl_setopt($handle, CURLOPT_URL, 'http://127.0.0.1/'), true, 'curl_setopt');
            $version = curl_version();
            return "libcurl {$version['version']}, TLS {$version['ssl_version']}";
        },
        'dom' => static function (): string {
            $document = new DOMDocument();
            require_same($document->loadXML('<order id="7"><item>tea</item></order>'), true, 'DOMDocument::loadXML');
            require_same($document->getElementsByTagName('item')->item(0)?->textContent, 'tea', 'DOMDocument::getElementsByTagName');
            return 'libxml ' . LIBXML_DOTTED_VERSION;
        },
        'exif' => static function (): string {
            require_same(exif_tagname(0x010F), 'Make', 'exif_tagname(0x010F)');
            return 'exif_tagname';
        },
        'fileinfo' => static function (): string {
            require_same((new finfo(FILEINFO_MIME_TYPE))->buffer("%PDF-1.4\n"), 'application/pdf', 'finfo::buffer');
            return 'finfo::buffer';
        },
        'filter' => static function (): string {
            require_same(filter_var('ops@example.com', FILTER_VALIDATE_EMAIL), 'ops@example.com', 'FILTER_VALIDATE_EMAIL');
            require_same(filter_var('12', FILTER_VALIDATE_INT), 12, 'FILTER_VALIDATE_INT');
            return 'filter_var';
        },
        'gmp' => static function (): string {
            require_same(gmp_strval(gmp_pow(2, 100)), '1267650600228229401496703205376', 'gmp_pow');
            return 'GMP ' . GMP_VERSION;
        },
        'iconv' => static function (): string {
            require_same(iconv('UTF-8', 'ISO-8859-1', 'é'), "\xE9", 'iconv');
            return ICONV_IMPL . ' ' . ICONV_VERSION;
        },
        'igbinary' => static function (): string {
            require_same(igbinary_unserialize(igbinary_serialize(['id' => 7])), ['id' => 7], 'igbinary round trip');
            return 'igbinary ' . phpversion('igbinary');
        },
        'intl' => static function (): string {
            $formatter = new NumberFormatter('de_DE', NumberFormatter::DECIMAL);
            require_same($formatter->format(1234.5), '1.234,5', 'NumberFormatter::format');
            return 'ICU ' . INTL_ICU_VERSION;
        },
        'json' => static function (): string {
            $value = ['order' => ['id' => 7, 'items' => ['tea']]];
            require_same(json_decode(json_encode($value, JSON_THROW_ON_ERROR), true, 512, JSON_THROW_ON_ERROR), $value, 'json round trip');
            return 'json_encode, json_decode';
        },
        'mbstring' => static function (): string {
            require_same(mb_strlen('Grüße', 'UTF-8'), 5, 'mb_strlen');
            require_same(mb_strtoupper('élan', 'UTF-8'), 'ÉLAN', 'mb_strtoupper');
            return 'mb_strlen, mb_strtoupper';
        },
        'mysqli' => static function (): string {
            require_same(class_exists(mysqli::class), true, 'class_exists(mysqli)');
            return mysqli_get_client_info();
        },
        'opcache' => static function (): string {
            $status = opcache_get_status(false);
            require_same(is_array($status) && $status['opcache_enabled'], true, 'opcache_get_status()[opcache_enabled]');
            // opcache skips files changed less than opcache.file_update_protection (2) seconds
            // ago, so the script compiled here gets an older modification time.
            $script = tempnam(sys_get_temp_dir(), 'smoke');
            file_put_contents($script, '<?php return 42;');
            touch($script, time() - 60);
            try {
                require_same(opcache_compile_file($script), true, 'opcache_compile_file');
                require_same(opcache_is_script_cached($script), true, 'opcache_is_script_cached');
            } finally {
                unlink($script);
            }
            return 'enabled, compiles and caches a script';
        },
        'openssl' => static function (): string {
            require_same(strlen(openssl_random_pseudo_bytes(32)), 32, 'openssl_random_pseudo_bytes');
            require_same(openssl_digest('abc', 'sha256'), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad', 'openssl_digest');
            return OPENSSL_VERSION_TEXT;
        },
        'pcntl' => static function (): string {
            require_same(pcntl_signal_get_handler(SIGUSR2), SIG_DFL, 'pcntl_signal_get_handler');
            return 'pcntl_signal_get_handler';
        },
        'pdo_mysql' => static function (): string {
            require_same(in_array('mysql', PDO::getAvailableDrivers(), true), true, 'PDO driver mysql');
            return 'PDO driver mysql';
        },
        'pdo_sqlite' => static function (): string {
            $database = new PDO('sqlite::memory:', null, null, [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION]);
            $database->exec('CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT)');
            $database->prepare('INSERT INTO orders (item) VALUES (?)')->execute(['tea']);
            require_same($database->query('SELECT item FROM orders WHERE id = 1')->fetchColumn(), 'tea', 'SELECT');
            return 'SQLite ' . $database->query('SELECT sqlite_version()')->fetchColumn();
        },
        'phar' => static function (): string {
            require_same(Phar::canCompress(Phar::GZ), extension_loaded('zlib'), 'Phar::canCompress(GZ)');
            return 'Phar API ' . Phar::apiVersion();
        },
        'posix' => static function (): string {
            require_same(posix_getpid(), getmypid(), 'posix_getpid');
            return 'posix_getpid';
        },
        'redis' => static function (): string {
            new Redis();
            return 'redis ' . phpversion('redis');
        },
        'session' => static function (): string {
            require_same(session_status(), PHP_SESSION_NONE, 'session_status');
            return 'session_status';
        },
        'simplexml' => static function (): string {
            $order = simplexml_load_string('<order id="7"><item>tea</item></order>');
            require_same((string) $order->item, 'tea', 'simplexml_load_string');
            return 'simplexml_load_string';
        },
        'sockets' => static function (): string {
            $socket = socket_create(AF_INET, SOCK_STREAM, SOL_TCP);
            require_same(socket_bind($socket, '127.0.0.1', 0), true, 'socket_bind');
            require_same(socket_getsockname($socket, $address), true, 'socket_getsockname');
            socket_close($socket);
            return "TCP socket bound to {$address}";
        },
        'sodium' => static function (): string {
            $key = sodium_crypto_secretbox_keygen();
            $nonce = random_bytes(SODIUM_CRYPTO_SECRETBOX_NONCEBYTES);
            $box = sodium_crypto_secretbox('order 7', $nonce, $key);
            require_same(sodium_crypto_secretbox_open($box, $nonce, $key), 'order 7', 'sodium_crypto_secretbox_open');
            return 'libsodium ' . SODIUM_LIBRARY_VERSION;
        },
        'sqlite3' => static function (): string {
            $database = new SQLite3(':memory:');
            require_same($database->querySingle('SELECT 6 * 7'), 42, 'SQLite3::querySingle');
            return 'SQLite ' . SQLite3::version()['versionString'];
        },
        'tokenizer' => static function (): string {
            require_same(token_get_all('<?php echo 1;')[0][0] ?? null, T_OPEN_TAG, 'token_get_all');
            return 'token_get_all';
        },
        'xml' => static function (): string {
            $parser = xml_parser_create();
            require_same(xml_parse($parser, '<order><item>tea</item></order>', true), 1, 'xml_parse');
            return 'xml_parse';
        },
        'xmlreader' => static function (): string {
            $reader = XMLReader::XML('<order>tea</order>');
            require_same($reader->read() ? $reader->name : null, 'order', 'XMLReader::read');
            return 'XMLReader';
        },
        'xmlwriter' => static function (): string {
            $writer = new XMLWriter();
            $writer->openMemory();
            $writer->writeElement('item', 'tea');
            require_same($writer->outputMemory(), '<item>tea</item>', 'XMLWriter::outputMemory');
            return 'XMLWriter';
        },
        'zip' => static function (): string {
            $path = tempnam(sys_get_temp_dir(), 'smoke');
            $archive = new ZipArchive();
            require_same($archive->open($path, ZipArchive::OVERWRITE), true, 'ZipArchive::open');
            $archive->addFromString('order.txt', 'tea');
            $archive->close();
            require_same($archive->open($path), true, 'ZipArchive::open (read)');
            require_same($archive->getFromName('order.txt'), 'tea', 'ZipArchive::getFromName');
            $archive->close();
            unlink($path);
            return 'libzip ' . ZipArchive::LIBZIP_VERSION;
        },
        'zlib' => static function (): string {
            $text = str_repeat('lambda ', 100);
            require_same(gzdecode(gzencode($text)), $text, 'gzencode, gzdecode');
            return 'zlib ' . ZLIB_VERSION;
        },
    ];
}
