// A writer for one flat object is a few lines; a JSON library would print 1E0 for one second.
#include "report.hpp"

#include <array>
#include <cmath>
#include <cstdio>

namespace parley::bench {
namespace {

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        default:
            if (static_cast<unsigned char>(c) < 0x20) {
                std::array<char, 8> escaped{};
                std::snprintf(escaped.data(), escaped.size(), "\\u%04x", static_cast<unsigned>(c));
                out += escaped.data();
            } else {
                out += c;
            }
        }
    }
    out += '"';
    return out;
}

} // namespace

void Report::add_raw(std::string_view key, std::string value) {
    fields_.emplace_back(std::string(key), std::move(value));
}

void Report::add(std::string_view key, std::string_view value) {
    add_raw(key, quoted(value));
}

void Report::add(std::string_view key, bool value) {
    add_raw(key, value ? "true" : "false");
}

void Report::add(std::string_view key, std::uint64_t value) {
    add_raw(key, std::to_string(value));
}

void Report::add(std::string_view key, std::int64_t value) {
    add_raw(key, std::to_string(value));
}

void Report::add(std::string_view key, double value, int decimals) {
    if (!std::isfinite(value)) {
        add_raw(key, "null");
        return;
    }
    std::array<char, 64> text{};
    std::snprintf(text.data(), text.size(), "%.*f", decimals, value);
    std::string s(text.data());
    if (s.find('.') != std::string::npos) {
        while (s.back() == '0') {
            s.pop_back();
        }
        if (s.back() == '.') {
            s.pop_back();
        }
    }
    if (s == "-0") {
        s = "0";
    }
    add_raw(key, std::move(s));
}

std::string Report::json() const {
    std::string out = "{";
    for (const auto& [key, value] : fields_) {
        if (out.size() > 1) {
            out += ',';
        }
        out += quoted(key);
        out += ':';
        out += value;
    }
    out += '}';
    return out;
}

} // namespace parley::bench
