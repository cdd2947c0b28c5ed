#pragma once
// The built-in file sink: needs nothing installed and is on by default.
// Appends each record to <dir>/<kind>.jsonl and/or <kind>.csv, fsyncs, then
// confirms. A batch that fails part-way is cut back off the files, and ids
// already at the end of a file (written just before a crash, not yet
// confirmed) are skipped on replay: each record appears exactly once.
#include "tandem/module.h"

#include <set>
#include <string>
#include <vector>

namespace tandem::records {

class FileSink {
public:
    // format: "jsonl", "csv" or "both".
    FileSink(std::string dir, std::string format);
    // Creates the directory, repairs torn last lines, loads recent ids.
    bool open(std::string &error);
    int write(const tandem_record *records, size_t count);
    const tandem_cdr_sink *desc() const { return &desc_; }

    // CSV columns per kind (docs/records.md).
    static const std::vector<std::string> &csv_columns(const std::string &kind);

private:
    struct Output;
    bool load_tail_ids(const std::string &path, bool csv);
    std::string dir_;
    bool jsonl_ = true, csv_ = false;
    // Ids at the end of the files at start: written before a restart, maybe
    // not confirmed, so replay may offer them again.
    std::set<std::string> recent_ids_;
    tandem_cdr_sink desc_{};
};

} // namespace tandem::records
