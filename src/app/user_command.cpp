// The admin commands, on the account store directly (no server needed, or while one runs).
#include "app/user_command.hpp"

#include "auth/password_hash.hpp"
#include "auth/user_name.hpp"
#include "store/account_store.hpp"
#include "store/sqlite_account_store.hpp"

#include <termios.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <stdexcept>

namespace parley::app {

namespace {

// One line from `in` without its newline. On a terminal the prompt is shown and echo is off.
std::string read_password(std::FILE* in, std::FILE* err, const char* prompt) {
    const int fd = fileno(in);
    const bool tty = isatty(fd) != 0;
    termios saved{};
    if (tty) {
        std::fputs(prompt, err);
        std::fflush(err);
        tcgetattr(fd, &saved);
        termios quiet = saved;
        quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        tcsetattr(fd, TCSANOW, &quiet);
    }
    std::string line;
    for (int c = std::fgetc(in); c != EOF && c != '\n'; c = std::fgetc(in)) {
        line += static_cast<char>(c);
    }
    if (!line.empty() && line.back() == '\r') {
        line.pop_back();
    }
    if (tty) {
        tcsetattr(fd, TCSANOW, &saved);
        std::fputs("\n", err);
    }
    return line;
}

std::string format_time(std::int64_t ms) {
    const std::time_t seconds = ms / 1000;
    std::tm utc{};
    gmtime_r(&seconds, &utc);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
    return text;
}

std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

int fail(std::FILE* err, const std::string& message) {
    std::fprintf(err, "parley user: %s\n", message.c_str());
    return 1;
}

} // namespace

int run_user_command(const UserCommand& command, std::FILE* in, std::FILE* out, std::FILE* err) {
    std::unique_ptr<store::AccountStore> accounts;
    try {
        accounts =
            store::open_sqlite_account_store(command.data_dir + "/" + std::string(store::accounts_db_file));
    } catch (const std::exception& e) {
        return fail(err, e.what());
    }

    if (command.action == "list") {
        auto all = accounts->list_accounts();
        if (!all) {
            return fail(err, all.error().message());
        }
        for (const store::Account& a : *all) {
            std::fprintf(out, "%s\t%s\t%s\n", a.name.c_str(), a.disabled ? "disabled" : "enabled",
                         format_time(a.created_ms).c_str());
        }
        return 0;
    }

    const auth::NameCheck name = auth::normalize_user_name(command.name);
    if (!name.ok()) {
        return fail(err, "'" + command.name + "': " + name.error);
    }
    if (command.action == "disable" || command.action == "enable") {
        if (auto done = accounts->set_disabled(name.name, command.action == "disable"); !done) {
            return fail(err, "'" + name.name + "': " + done.error().message());
        }
        std::fprintf(out, "%s %sd%s\n", name.name.c_str(), command.action.c_str(),
                     command.action == "disable" ? "; its sessions are closed" : "");
        return 0;
    }
    if (command.action != "add" && command.action != "passwd") {
        return fail(err,
                    "unknown action '" + command.action + "'; expected add, passwd, disable, enable or list");
    }
    if (command.action == "passwd") {
        // Before asking for a password: no point typing one for a name with no account.
        auto existing = accounts->find_account(name.name);
        if (!existing || !*existing) {
            return fail(err, "'" + name.name + "': no such account");
        }
    }
    const std::string password = read_password(in, err, "Password: ");
    if (auto weak = auth::check_new_password(password)) {
        return fail(err, *weak);
    }
    auto hash = auth::hash_password(password);
    if (!hash) {
        return fail(err, "cannot hash the password: " + hash.error().message());
    }
    if (command.action == "add") {
        auto created = accounts->create_account(name.name, *hash, now_ms());
        if (!created) {
            return fail(err, "'" + name.name + "': " + created.error().message());
        }
        std::fprintf(out, "%s added\n", name.name.c_str());
        return 0;
    }
    if (auto done = accounts->set_password(name.name, *hash); !done) {
        return fail(err, "'" + name.name + "': " + done.error().message());
    }
    std::fprintf(out, "%s: password changed; every session of the account is logged out\n",
                 name.name.c_str());
    return 0;
}

} // namespace parley::app
