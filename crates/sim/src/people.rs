//! Enrolled people: employee numbers, names and cards, shared by all devices of a fleet.

use std::collections::HashMap;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::seed::mix;

/// One enrolled person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Person {
    /// Kept as a string: `"00042"` and `"42"` are different people.
    pub employee_no: String,
    pub name: String,
    pub card_no: String,
}

/// People known to a device, with a lookup by employee number.
#[derive(Debug, Default)]
pub struct Roster {
    people: Vec<Person>,
    index: HashMap<String, u32>,
}

impl Roster {
    pub fn people(&self) -> &[Person] {
        &self.people
    }

    pub fn get(&self, idx: u32) -> Option<&Person> {
        self.people.get(idx as usize)
    }

    pub fn find(&self, employee_no: &str) -> Option<u32> {
        self.index.get(employee_no).copied()
    }

    /// Adds a person unless the employee number is known; returns its index either way.
    pub fn intern(&mut self, person: Person) -> u32 {
        if let Some(idx) = self.index.get(&person.employee_no) {
            return *idx;
        }
        let idx = u32::try_from(self.people.len()).unwrap_or(u32::MAX);
        self.index.insert(person.employee_no.clone(), idx);
        self.people.push(person);
        idx
    }
}

// UTF-8 on purpose: terminals deliver names like "CÁSSIA" as real UTF-8.
const FIRST: &[&str] = &[
    "CÁSSIA",
    "João",
    "Zoë",
    "Łukasz",
    "Søren",
    "Ana",
    "John",
    "Jane",
    "Mehmet",
    "Nguyễn",
    "Jürgen",
    "Åsa",
    "Olga",
    "Ahmed",
    "Priya",
    "Chen",
    "María",
    "François",
    "Inês",
    "Kwame",
];
const LAST: &[&str] = &[
    "Silva",
    "Müller",
    "O'Brien",
    "Kowalski",
    "Doe",
    "Yılmaz",
    "Andersen",
    "Núñez",
    "Smith",
    "Dupont",
    "Tanaka",
    "Okafor",
    "Ivanova",
    "Hernández",
    "Lee",
    "Ngô",
];

/// Generates `count` people deterministically from `seed` (no device index: devices share staff).
pub fn generate(count: usize, seed: u64) -> Roster {
    let mut rng = StdRng::seed_from_u64(mix(seed, 0, 0x7065_6f70));
    let mut roster = Roster::default();
    for i in 0..count {
        let first = FIRST[rng.random_range(0..FIRST.len())];
        let name = if i % 7 == 0 {
            first.to_string()
        } else {
            format!("{first} {}", LAST[rng.random_range(0..LAST.len())])
        };
        roster.intern(Person {
            employee_no: employee_no(i),
            name,
            card_no: format!("{}", 1_234_500_000u64 + 13 * i as u64),
        });
    }
    roster
}

/// Mixes styles seen in the field. Each style's numbers have their own residue mod 4, so no
/// two people share a number even when padded numbers outgrow their width.
fn employee_no(i: usize) -> String {
    match i % 4 {
        0 => format!("{:05}", i + 1),
        1 => format!("{}", 999 + i),
        2 => format!("{:05}", 40 + i),
        _ => format!("{}", 20_000 + i),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_unique_and_some_keep_leading_zeros() {
        let roster = generate(500, 7);
        assert_eq!(roster.people().len(), 500);
        assert!(roster.people().iter().any(|p| p.employee_no == "00042"));
        assert!(roster.people().iter().any(|p| p.name.starts_with("CÁSSIA")));
        assert_eq!(roster.find("00042"), Some(2));
    }

    #[test]
    fn deterministic() {
        assert_eq!(generate(20, 3).people(), generate(20, 3).people());
    }
}
