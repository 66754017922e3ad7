// `parley user add|passwd|disable|enable|list`: account administration on the same accounts.db
// the server uses — safe while the server runs (WAL; the server notices disabled accounts within
// a second and closes their sessions). Passwords are read from standard input, never from the
// command line (which every user of the machine can see).
#pragma once

#include <cstdio>
#include <string>

namespace parley::app {

struct UserCommand {
    std::string action; // add, passwd, disable, enable, list
    std::string name;   // all but list
    std::string data_dir;
};

// Runs the command; prints results to `out`, problems to `err`. Returns the exit code.
int run_user_command(const UserCommand& command, std::FILE* in, std::FILE* out, std::FILE* err);

} // namespace parley::app
