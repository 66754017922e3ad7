// parley: the command line. `parley serve` runs the server until SIGINT/SIGTERM; startup errors
// print one line and exit 1. Thin on purpose: settings live in app/config, the server in net/.
#include "app/config.hpp"
#include "app/user_command.hpp"
#include "net/auth_worker.hpp"
#include "net/server.hpp"
#include "store/account_store.hpp"
#include "store/journal_format.hpp"
#include "store/journal_store.hpp"
#include "store/memory_store.hpp"
#include "store/sqlite_account_store.hpp"
#include "store/sqlite_store.hpp"

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <pthread.h>
#include <thread>

namespace {

using parley::app::AppConfig;

// The auth thread for `--auth password` and `--auth jwt`; null for `--auth open`.
std::unique_ptr<parley::net::AuthWorker> make_auth_worker(const AppConfig& config) {
    if (config.auth == "open") {
        return nullptr;
    }
    parley::auth::AuthenticatorOptions options;
    options.mode = config.auth == "jwt" ? parley::auth::auth_mode::jwt : parley::auth::auth_mode::password;
    options.jwt_secret = config.jwt_secret;
    options.token_ttl = config.token_ttl;
    options.registration_open = config.registration == "open";
    options.throttle.free_failures = config.login_free_failures;
    options.throttle.max_delay = config.login_max_backoff;
    options.throttle.forget_after = std::max(options.throttle.forget_after, 2 * config.login_max_backoff);
    std::unique_ptr<parley::store::AccountStore> accounts;
    if (options.mode == parley::auth::auth_mode::password) {
        if (config.store == "memory") {
            accounts =
                parley::store::open_sqlite_account_store(std::string(parley::store::in_memory_accounts));
        } else {
            const std::string path = config.data_dir + "/" + std::string(parley::store::accounts_db_file);
            accounts = parley::store::open_sqlite_account_store(path);
            spdlog::info("accounts: {} (registration {})", path, config.registration);
        }
    }
    return std::make_unique<parley::net::AuthWorker>(std::move(options), std::move(accounts));
}

int serve(AppConfig config) {
    // Past the file size limit (ulimit -f) a write fails with EFBIG instead of the kernel killing
    // the process: the store reports it, the chats of that batch get an error and no ack, and the
    // server keeps serving everything else.
    std::signal(SIGXFSZ, SIG_IGN);
    // Logs are diagnostics: stderr, so stdout stays free for anything a script wants to read.
    spdlog::set_default_logger(spdlog::stderr_color_mt("parley"));
    spdlog::set_level(spdlog::level::from_str(config.log_level));
    if (config.auth == "open") {
        spdlog::warn("auth mode 'open': any client may log in as any user_id. Do not expose this server "
                     "to people you do not trust.");
    }
    std::unique_ptr<parley::net::AuthWorker> auth = make_auth_worker(config);
    std::unique_ptr<parley::store::MessageStore> store;
    if (config.store == "memory") {
        spdlog::warn(
            "store 'memory': messages are lost when the process stops. For tests and benchmarks only.");
        store = parley::store::make_memory_store();
    } else if (config.store == "journal") {
        parley::store::JournalOptions options;
        options.warn = [](const std::string& line) { spdlog::warn("{}", line); };
        options.info = [](const std::string& line) { spdlog::info("{}", line); };
        store = parley::store::open_journal_store(config.data_dir, options);
        spdlog::info("message store: {}/{} (journal; every message within retention is held in RAM)",
                     config.data_dir, parley::store::journal::file_name);
    } else {
        parley::store::SqliteOptions options;
        options.cache_bytes = config.sqlite_cache_bytes;
        store = parley::store::open_sqlite_store(config.data_dir, options);
        spdlog::info("message store: {}/parley.db", config.data_dir);
    }

    // Block the stop signals before any thread starts so every thread inherits the mask and only
    // sigwait() below sees them.
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
    std::signal(SIGPIPE, SIG_IGN);

    parley::net::Server server(config.server, std::move(store), std::move(auth));
    server.start();
    const bool tls = !config.server.tls_cert.empty();
    spdlog::info("listening on {}:{} ({} threads{}); web client at {}://127.0.0.1:{}/",
                 config.server.listen_host, server.port(), config.server.threads, tls ? ", TLS" : "",
                 tls ? "https" : "http", server.port());

    int signal = 0;
    sigwait(&stop_signals, &signal);
    spdlog::info("received {}, closing sessions", signal == SIGINT ? "SIGINT" : "SIGTERM");
    server.stop();
    server.wait();
    spdlog::info("stopped");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    CLI::App cli{"Parley: a one-to-one real-time chat server (WebSocket + JSON)", "parley"};
    cli.set_version_flag("--version", std::string("parley ") + PARLEY_VERSION);
    cli.require_subcommand(1);

    CLI::App* serve_cmd = cli.add_subcommand("serve", "Run the chat server");
    CLI::App* user_cmd = cli.add_subcommand(
        "user",
        "Manage accounts (password mode): add NAME | passwd NAME | disable NAME | enable NAME | list. "
        "Passwords are read from standard input. Safe while the server runs.");
    parley::app::UserCommand user;
    user_cmd->add_option("action", user.action, "add, passwd, disable, enable or list")
        ->required()
        ->check(CLI::IsMember({"add", "passwd", "disable", "enable", "list"}));
    user_cmd->add_option("name", user.name, "The account's user name");
    user.data_dir = "./parley-data";
    user_cmd->add_option("--data-dir", user.data_dir, "Directory holding accounts.db [./parley-data]")
        ->envname("PARLEY_DATA_DIR");
    std::string config_file;
    serve_cmd->add_option("--config", config_file, "TOML file of settings (keys as below, without --)")
        ->envname("PARLEY_CONFIG");
    std::map<std::string, std::string> flags;
    for (const auto& setting : parley::app::all_settings()) {
        const std::string key(setting.key);
        serve_cmd->add_option(parley::app::flag_name(key), flags[key], std::string(setting.help));
    }

    try {
        cli.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return cli.exit(e);
    }

    if (user_cmd->parsed()) {
        if (user.action != "list" && user.name.empty()) {
            std::fprintf(stderr, "parley user %s: a user name is required\n", user.action.c_str());
            return 2;
        }
        return parley::app::run_user_command(user, stdin, stdout, stderr);
    }

    try {
        AppConfig config;
        config.server.threads = std::max(1u, std::thread::hardware_concurrency());
        if (!config_file.empty()) {
            parley::app::apply_toml_file(config, config_file);
        }
        parley::app::apply_environment(config, [](const char* name) { return std::getenv(name); });
        for (const auto& setting : parley::app::all_settings()) {
            const std::string key(setting.key);
            if (serve_cmd->count(parley::app::flag_name(key)) > 0) {
                parley::app::apply_setting(config, key, flags[key], parley::app::flag_name(key));
            }
        }
        parley::app::check_consistency(config);
        parley::app::derive_from_auth_mode(config);
        return serve(std::move(config));
    } catch (const std::exception& e) {
        std::fprintf(stderr, "parley: %s\n", e.what());
        return 1;
    }
}
