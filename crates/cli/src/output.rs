//! Event output: JSON lines or CSV.

use std::io::{self, Write};

use attendance_sync::Event;

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Format {
    Jsonl,
    Csv,
}

const CSV_HEADER: &str =
    "device,serial_no,employee_no,time,log_type,major,minor,verify_method,is_punch,card_no,name,door_no";

fn csv_field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_owned()
    }
}

fn opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

pub fn write_events(out: &mut dyn Write, events: &[Event], format: Format) -> io::Result<()> {
    match format {
        Format::Jsonl => {
            for e in events {
                serde_json::to_writer(&mut *out, e)?;
                out.write_all(b"\n")?;
            }
        }
        Format::Csv => {
            writeln!(out, "{CSV_HEADER}")?;
            for e in events {
                let fields = [
                    csv_field(&e.device),
                    opt(&e.serial_no),
                    csv_field(&opt(&e.employee_no)),
                    e.time.to_rfc3339(),
                    e.log_type
                        .map(|l| l.as_str().to_owned())
                        .unwrap_or_default(),
                    e.major.to_string(),
                    e.minor.to_string(),
                    csv_field(&opt(&e.verify_method)),
                    e.is_punch.to_string(),
                    csv_field(&opt(&e.card_no)),
                    csv_field(&opt(&e.name)),
                    opt(&e.door_no),
                ];
                writeln!(out, "{}", fields.join(","))?;
            }
        }
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_only_when_needed() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("Doe, Jane"), "\"Doe, Jane\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    }
}
