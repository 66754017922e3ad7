// parley: the command line. `parley serve` runs the server until SIGINT/SIGTERM; startup errors
// print one line and exit 1. Thin on purpose: settings live in app/config, the server in net/.
#include "app/config.hpp"
#include "net/server.hpp"
#include "store/memory_store.hpp"
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

int serve(const AppConfig& config) {
    // Logs are diagnostics: stderr, so stdout stays free for anything a script wants to read.
    spdlog::set_default_logger(spdlog::stderr_color_mt("parley"));
    spdlog::set_level(spdlog::level::from_str(config.log_level));
    if (config.auth == "open") {
        spdlog::warn("auth mode 'open': any client may log in as any user_id. Do not expose this server "
                     "to people you do not trust.");
    }
    std::unique_ptr<parley::store::MessageStore> store;
    if (config.store == "memory") {
        spdlog::warn(
            "store 'memory': messages are lost when the process stops. For tests and benchmarks only.");
        store = parley::store::make_memory_store();
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

    parley::net::Server server(config.server, std::move(store));
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
        return serve(config);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "parley: %s\n", e.what());
        return 1;
    }
}
