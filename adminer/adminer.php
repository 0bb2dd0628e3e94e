<?php
// The router of PHP's built-in server for ha-stack's Adminer: every request comes here.
// /healthz answers "ok" (the healthcheck; no session, no database). Everything else is
// Debian's compiled Adminer (/usr/share/adminer/adminer.php) with the server fixed: the login
// form asks only for a username and a password, and connects to ADMINER_SERVER (pgpool) as
// PostgreSQL, database ADMINER_DATABASE unless the user names another.

$path = parse_url($_SERVER["REQUEST_URI"] ?? "/", PHP_URL_PATH);
if ($path === "/healthz") {
    header("Content-Type: text/plain");
    echo "ok\n";
    return;
}
// Adminer lives at "/" (its links are all "?…"); nothing else is served.
if ($path !== "/") {
    http_response_code(404);
    header("Content-Type: text/plain");
    echo "not found\n";
    return;
}

function adminer_object()
{
    include_once "/usr/share/adminer/plugins/version-noverify.php";

    /** One PostgreSQL server, preset: the login form hides System, Server and Database. */
    class HaStackServer extends Adminer\Plugin
    {
        private string $server;
        private string $database;

        function __construct(string $server, string $database)
        {
            $this->server = $server;
            $this->database = $database;
            if (isset($_POST["auth"]) && is_array($_POST["auth"])) {
                $_POST["auth"]["driver"] = "pgsql";
                $_POST["auth"]["server"] = $server;
                if (($_POST["auth"]["db"] ?? "") === "") {
                    $_POST["auth"]["db"] = $database;
                }
            }
        }

        function credentials()
        {
            return array($this->server, $_GET["username"], Adminer\get_password());
        }

        function login($login, $password)
        {
            // A hand-made URL naming another server or system gets no connection.
            if (Adminer\DRIVER !== "pgsql" || Adminer\SERVER !== $this->server) {
                return "This Adminer connects only to " . Adminer\h($this->server) . ".";
            }
            return null; // Adminer's own checks follow (an empty password is refused).
        }

        function loginFormField($name, $heading, $value)
        {
            return in_array($name, array("driver", "server", "db"), true) ? "" : null;
        }
    }

    return new Adminer\Plugins(array(
        new AdminerVersionNoverify(), // no version check against adminer.org from the browser
        new HaStackServer(
            getenv("ADMINER_SERVER") ?: "pgpool:9999",
            getenv("ADMINER_DATABASE") ?: "app",
        ),
    ));
}

include "/usr/share/adminer/adminer.php";
