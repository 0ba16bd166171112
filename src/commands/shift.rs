//! `kitlog shift`: end-of-shift entry at the keyboard, one contact a line.
//!
//! Every accepted line is committed to a draft at once (code already salted), so a
//! crash, a closed window or a dead battery loses nothing: `--resume` carries on.
//! The same conversation works on a terminal and from standard input, so it can be
//! scripted and tested; on a terminal a bad answer is asked again, from a script it
//! ends the session with the draft kept.

use std::io::{BufRead, Write};

use chrono::NaiveDate;
use rustyline::error::ReadlineError;
use rustyline::history::MemHistory;
use rustyline::{Config, Editor};
use zeroize::Zeroizing;

use super::Context;
use crate::catalogue::{Catalogue, Site, in_use_on};
use crate::cli::ShiftArgs;
use crate::code::CodeMaker;
use crate::contact::{BatchSource, BatchTotals, Contact, NewBatch, WorkerLabel, count_words};
use crate::error::{Error, Result};
use crate::fiscal::FiscalCalendar;
use crate::shift::{ContactLine, Line, ShiftCommand, Shortcuts, parse_line};
use crate::spoken_day::{DayRefusal, parse_spoken_day};
use crate::store::{Draft, Store};
use crate::text::Count;
use crate::unlock::Program;

/// Runs the session on this process's standard input: through a line editor at a
/// terminal, line by line from a pipe.
pub(super) fn run(args: &ShiftArgs, context: &Context, out: &mut impl Write) -> Result<()> {
    let stdin = std::io::stdin();
    let mut piped = stdin.lock();
    let interactive = context.passphrase.terminal;
    let input = if interactive {
        Input::Editor(Box::new(line_editor()?))
    } else {
        Input::Piped(&mut piped)
    };
    let mut session = Session {
        input,
        out,
        interactive,
        color: context.color,
        kept: None,
    };
    session.run(args, context)
}

/// The editor of a worker at a terminal: arrows, Home/End, Ctrl-A/E, and Up for the
/// session's earlier lines. Its history lives in this process's memory only: the
/// crate is built without its file-history feature, so no line (codes included)
/// can reach a history file.
fn line_editor() -> Result<Editor<(), MemHistory>> {
    let config = Config::builder()
        .auto_add_history(false)
        .history_ignore_dups(true)
        .map_err(|_| Error::Output(std::io::ErrorKind::Other))?
        .max_history_size(500)
        .map_err(|_| Error::Output(std::io::ErrorKind::Other))?
        .build();
    Editor::with_history(config, MemHistory::new())
        .map_err(|_| Error::Output(std::io::ErrorKind::Other))
}

/// Where the session's answers come from.
enum Input<'a, R> {
    /// A person at a terminal, typing into a line editor.
    Editor(Box<Editor<(), MemHistory>>),
    /// A pipe or a file: one line an answer, exactly as given.
    Piped(&'a mut R),
}

/// The shift being typed and what it needs, once the questions are answered.
struct Shift {
    store: Store,
    draft: Draft,
    catalogue: Catalogue,
    shortcuts: Shortcuts,
    calendar: FiscalCalendar,
    today: NaiveDate,
}

impl Shift {
    /// The lines kept so far, read back from the draft: what is shown is what is saved.
    fn contacts(&self) -> Result<Vec<Contact>> {
        self.store.draft_contacts(&self.draft, self.calendar)
    }
}

/// The conversation: where lines come from, where answers go.
struct Session<'a, R, W> {
    input: Input<'a, R>,
    out: &'a mut W,
    /// A person at a terminal, who can be asked again.
    interactive: bool,
    /// ANSI colour for problems and confirmations.
    color: bool,
    /// Contacts kept in the draft so far; `None` before the draft exists. Said when
    /// the session ends early, so the worker knows what is waiting.
    kept: Option<i64>,
}

impl<R: BufRead, W: Write> Session<'_, R, W> {
    fn run(&mut self, args: &ShiftArgs, context: &Context) -> Result<()> {
        let Program { mut store, key, .. } = context.unlock()?;
        let settings = store.settings()?;
        let catalogue = store.catalogue()?;
        let waiting = store.open_draft()?;
        if args.discard {
            // Someone else's typed shift is at stake: the passphrase (asked above, on
            // opening) and a yes, typed or piped.
            let draft = waiting.ok_or(Error::NoDraft)?;
            let what = format!(
                "the unsaved shift of {} ({})",
                draft.day,
                Count::of(draft.contacts, "contact")
            );
            if !self.confirm(&format!("throw away {what}? [y/N] "))? {
                return self.say(&format!(
                    "kept {what}; resume it with kitlog shift --resume"
                ));
            }
            store.discard_draft(draft.id)?;
            return self.say(&format!("threw away {what}; nothing was saved"));
        }
        let resumed = match (args.resume, waiting) {
            (true, None) => return Err(Error::NoDraft),
            (true, Some(draft)) => Some(draft),
            (false, Some(_)) => return Err(Error::DraftOpen),
            (false, None) => None,
        };

        let mut codes = CodeMaker::new(&key, settings.calendar, settings.code_format.clone())
            .with_carried(store.carried_epoch_keys()?);
        let draft = if let Some(draft) = resumed {
            draft
        } else {
            let day = self.ask_day(context.today, settings.calendar, &store.closed_years()?)?;
            let site = self.ask_site(&catalogue, day)?.id;
            let worker = self.ask_worker(&store.worker_labels()?)?;
            store.create_draft(day, site, worker.as_ref(), context.today)?
        };
        let site_name = catalogue
            .sites
            .iter()
            .find(|s| s.id == draft.site_id)
            .map_or("?", |s| s.name.as_str())
            .to_owned();
        self.say(&format!(
            "shift of {} at {site_name}{}: one contact a line; help shows the shortcuts, done saves",
            draft.day,
            draft
                .worker
                .as_ref()
                .map(|w| format!(", worker {w}"))
                .unwrap_or_default()
        ))?;
        if draft.contacts > 0 {
            self.say(&format!(
                "resumed: {} kept so far",
                Count::of(draft.contacts, "contact")
            ))?;
        }
        let mut shift = Shift {
            shortcuts: Shortcuts::for_day(&catalogue, draft.day),
            store,
            draft,
            catalogue,
            calendar: settings.calendar,
            today: context.today,
        };
        loop {
            self.kept = Some(shift.draft.contacts);
            let prompt = format!("contact {}> ", shift.draft.contacts + 1);
            let text = self.ask(&prompt)?;
            let finished = match parse_line(&text, &shift.shortcuts) {
                Err(problem) => self.problem(&problem.to_string()).map(|()| false)?,
                Ok(Line::Empty) => false,
                Ok(Line::Contact(line)) if self.stray_word(&line)? => false,
                Ok(Line::Contact(line)) => {
                    self.keep(&mut shift, &line, &mut codes).map(|()| false)?
                }
                Ok(Line::Command(command)) => self.command(&mut shift, command)?,
            };
            if finished {
                return Ok(());
            }
        }
    }

    /// A code with nothing handed out: a visit with no supplies is rare, a stray word
    /// (`y`, `ls`, a typo) is not, and it would be counted as a participant. Asks;
    /// `true` when the line is to be dropped.
    fn stray_word(&mut self, line: &ContactLine) -> Result<bool> {
        if line.code.is_none() || line.counts.records_something() {
            return Ok(false);
        }
        if self.confirm(
            "  this line is a code and nothing else; keep it as a visit with no supplies? [y/N] ",
        )? {
            return Ok(false);
        }
        self.say("  not kept")?;
        Ok(true)
    }

    /// Salts the code and keeps the line in the draft.
    fn keep(
        &mut self,
        shift: &mut Shift,
        line: &ContactLine,
        codes: &mut CodeMaker<'_>,
    ) -> Result<()> {
        let code = match &line.code {
            Some(raw) => match codes.code_for(raw, shift.draft.day) {
                Ok(code) => Some(code),
                Err(refusal) => return self.problem(&refusal.to_string()),
            },
            None => None,
        };
        let contact = Contact {
            day: shift.draft.day,
            fiscal_year: shift.calendar.year_of(shift.draft.day),
            site_id: shift.draft.site_id,
            code,
            counts: line.counts.clone(),
        };
        let position = shift.store.add_draft_contact(shift.draft.id, &contact)?;
        shift.draft.contacts = position;
        let who = if code.is_some() { "code" } else { "anonymous" };
        let what = describe(&contact, &shift.catalogue);
        self.say(&format!("  kept {position} ({who}){what}"))
    }

    /// Runs a session command; `true` when the session is over.
    fn command(&mut self, shift: &mut Shift, command: ShiftCommand) -> Result<bool> {
        match command {
            ShiftCommand::Help => self.say(&shift.shortcuts.help())?,
            ShiftCommand::Undo => match shift.store.remove_last_draft_contact(shift.draft.id)? {
                Some(position) => {
                    shift.draft.contacts = position - 1;
                    self.say(&format!("  removed contact {position}"))?;
                }
                None => self.problem("there is nothing to undo")?,
            },
            ShiftCommand::List => {
                let contacts = shift.contacts()?;
                if contacts.is_empty() {
                    self.say("  no contacts yet")?;
                }
                for (index, contact) in contacts.iter().enumerate() {
                    let who = if contact.code.is_some() {
                        "code"
                    } else {
                        "anonymous"
                    };
                    let what = describe(contact, &shift.catalogue);
                    self.say(&format!("  {:>3} ({who}){what}", index + 1))?;
                }
            }
            ShiftCommand::Total => {
                let totals = BatchTotals::of(&shift.contacts()?, &shift.catalogue);
                self.say(&format!("  so far: {totals}"))?;
            }
            ShiftCommand::Done => return self.done(shift),
            ShiftCommand::Quit => {
                let count = shift.draft.contacts;
                if count > 0 {
                    let question = format!(
                        "throw away the {} typed in this shift? [y/N] ",
                        Count::of(count, "contact")
                    );
                    if !self.confirm(&question)? {
                        self.say("kept; keep typing, or done to save")?;
                        return Ok(false);
                    }
                }
                shift.store.discard_draft(shift.draft.id)?;
                self.say(&format!(
                    "threw away {}; nothing was saved",
                    Count::of(count, "contact")
                ))?;
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Summary, confirmation, then the draft becomes one batch.
    fn done(&mut self, shift: &mut Shift) -> Result<bool> {
        let contacts = shift.contacts()?;
        if contacts.is_empty() {
            self.problem("nothing to save yet; type a contact, or quit")?;
            return Ok(false);
        }
        let totals = BatchTotals::of(&contacts, &shift.catalogue);
        self.say(&format!("about to save {totals}"))?;
        let question = format!("save {}? [y/N] ", Count::of(contacts.len(), "contact"));
        if !self.confirm(&question)? {
            self.say("not saved; keep typing, or done again")?;
            return Ok(false);
        }
        let worker = shift
            .draft
            .worker
            .as_deref()
            .map(WorkerLabel::parse)
            .transpose()?;
        let batch = shift.store.save_draft(
            &shift.draft,
            &NewBatch {
                source: BatchSource::Shift,
                worker,
                saved_on: shift.today,
                contacts,
            },
        )?;
        self.confirmed(&format!("saved batch {batch}: {totals}"))?;
        Ok(true)
    }

    /// The day of the shift: empty for today, `yesterday`, or YYYY-MM-DD; never future.
    /// The day of the shift, in any form [`parse_spoken_day`] reads; never in the
    /// future, and never in a closed year (refused here, not after the whole shift
    /// was typed).
    fn ask_day(
        &mut self,
        today: NaiveDate,
        calendar: FiscalCalendar,
        closed: &[i32],
    ) -> Result<NaiveDate> {
        loop {
            let answer = self.ask(&format!("date of the shift [{today}]: "))?;
            let day = match parse_spoken_day(&answer, today) {
                Ok(day) if closed.contains(&calendar.year_of(day).start_year()) => {
                    Err(Error::YearClosed(calendar.year_of(day).to_string()))
                }
                Ok(day) => Ok(day),
                Err(DayRefusal::Future) => Err(Error::ShiftDateInFuture { today }),
                Err(DayRefusal::Ambiguous) => Err(Error::ShiftDateAmbiguous),
                Err(DayRefusal::Unreadable) => Err(Error::ShiftDateUnreadable),
            };
            match day {
                Ok(day) => return Ok(day),
                Err(refusal) => self.retry(refusal)?,
            }
        }
    }

    /// The site: its number in the list, its name, or the start of its name.
    fn ask_site<'c>(&mut self, catalogue: &'c Catalogue, day: NaiveDate) -> Result<&'c Site> {
        let sites: Vec<&Site> = catalogue
            .sites
            .iter()
            .filter(|s| in_use_on(s.retired_on, day))
            .collect();
        if sites.is_empty() {
            return Err(Error::NoSites);
        }
        for (index, site) in sites.iter().enumerate() {
            self.say(&format!("  {:>2}  {}", index + 1, site.name))?;
        }
        loop {
            let answer = self.ask("site (number or name): ")?;
            let answer = answer.trim().to_ascii_lowercase();
            if let Ok(number) = answer.parse::<usize>() {
                if let Some(site) = number.checked_sub(1).and_then(|i| sites.get(i)) {
                    return Ok(site);
                }
            }
            let matching: Vec<&Site> = sites
                .iter()
                .copied()
                .filter(|s| !answer.is_empty() && s.name.starts_with(&answer))
                .collect();
            let exact = sites.iter().copied().find(|s| s.name == answer);
            match (exact, matching.as_slice()) {
                (Some(site), _) | (None, &[site]) => return Ok(site),
                (None, []) => self.retry(Error::ShiftSiteUnknown)?,
                (None, _) => self.retry(Error::ShiftSiteAmbiguous)?,
            }
        }
    }

    /// The worker, from the coordinator's list only (by number or label): a free
    /// answer here once stored a participant's code in clear. Asked even when the list
    /// is empty (Enter is then the only answer), so a script's answers do not shift
    /// when the coordinator adds the first label.
    fn ask_worker(&mut self, listed: &[String]) -> Result<Option<WorkerLabel>> {
        if listed.is_empty() {
            self.say(
                "  (no worker labels listed yet; the coordinator adds them: kitlog worker add JD)",
            )?;
        }
        for (index, label) in listed.iter().enumerate() {
            self.say(&format!("  {:>2}  {label}", index + 1))?;
        }
        loop {
            let answer = self.ask("worker (number or label; Enter for none): ")?;
            if answer.trim().is_empty() {
                return Ok(None);
            }
            match WorkerLabel::choose(&answer, listed) {
                Ok(label) => return Ok(Some(label)),
                Err(_) => self.retry(Error::ShiftWorkerUnknown)?,
            }
        }
    }

    /// On a terminal, explains and lets the caller ask again; from a script, where
    /// nobody can answer again, stops with the same sentence.
    fn retry(&mut self, refusal: Error) -> Result<()> {
        if self.interactive {
            self.problem(&refusal.to_string())
        } else {
            Err(refusal)
        }
    }

    /// Prints `prompt`, reads one line. The end of input and Ctrl-C end the session
    /// with a sentence saying what was kept. The line is wiped when dropped: it may
    /// hold a participant's code (the editor's own copies in its history are not,
    /// and live until the process exits; it cannot be dumped, see `hardening`).
    fn ask(&mut self, prompt: &str) -> Result<Zeroizing<String>> {
        match &mut self.input {
            Input::Editor(editor) => {
                self.out.flush().map_err(|e| Error::Output(e.kind()))?;
                match editor.readline(prompt) {
                    Ok(line) => {
                        if !line.trim().is_empty() {
                            let _ = editor.add_history_entry(line.as_str());
                        }
                        Ok(Zeroizing::new(line))
                    }
                    Err(ReadlineError::Interrupted) => Err(Error::ShiftStopped(self.kept)),
                    Err(ReadlineError::Eof) => Err(Error::ShiftInterrupted(self.kept)),
                    Err(ReadlineError::Io(e)) => Err(Error::Output(e.kind())),
                    Err(_) => Err(Error::Output(std::io::ErrorKind::Other)),
                }
            }
            Input::Piped(input) => {
                let mut line = Zeroizing::new(String::new());
                self.out
                    .write_all(prompt.as_bytes())
                    .and_then(|()| self.out.flush())
                    .map_err(|e| Error::Output(e.kind()))?;
                let read = input
                    .read_line(&mut line)
                    .map_err(|e| Error::Output(e.kind()))?;
                // Piped input is not echoed by a terminal; end the prompt's line ourselves.
                self.write("\n")?;
                if read == 0 {
                    return Err(Error::ShiftInterrupted(self.kept));
                }
                // The line's own end is no part of the answer (a control character
                // inside it is, and is refused).
                let end = line.trim_end_matches(['\n', '\r']).len();
                line.truncate(end);
                Ok(line)
            }
        }
    }

    /// A yes or no; Enter is no. From a script in the middle of a shift, any other
    /// answer stops the session (its lines kept): it is more likely the next contact
    /// line than an answer. Elsewhere (throwing a draft away) it is a no.
    fn confirm(&mut self, question: &str) -> Result<bool> {
        let answer = self.ask(question)?;
        match answer.trim().to_ascii_lowercase().as_str() {
            "y" | "yes" => Ok(true),
            "" | "n" | "no" => Ok(false),
            _ if !self.interactive && self.kept.is_some() => {
                Err(Error::ShiftAnswerUnclear(self.kept))
            }
            _ => Ok(false),
        }
    }

    fn say(&mut self, text: &str) -> Result<()> {
        self.write(&format!("{text}\n"))
    }

    fn problem(&mut self, text: &str) -> Result<()> {
        self.painted("31", &format!("  problem: {text}"))
    }

    fn confirmed(&mut self, text: &str) -> Result<()> {
        self.painted("32", text)
    }

    /// Colour only on a terminal and only without `NO_COLOR` (no-color.org).
    fn painted(&mut self, code: &str, text: &str) -> Result<()> {
        if self.color {
            self.write(&format!("\x1b[{code}m{text}\x1b[0m\n"))
        } else {
            self.say(text)
        }
    }

    fn write(&mut self, text: &str) -> Result<()> {
        self.out
            .write_all(text.as_bytes())
            .map_err(|e| Error::Output(e.kind()))
    }
}

/// `: injection-kit 2, stem-pipe 3, reversals 1, reason first` for a kept line.
fn describe(contact: &Contact, catalogue: &Catalogue) -> String {
    let mut parts: Vec<String> = contact
        .counts
        .items
        .iter()
        .map(|(id, quantity)| {
            let name = catalogue
                .items
                .iter()
                .find(|i| i.id == *id)
                .map_or("?", |i| i.name.as_str());
            format!("{name} {quantity}")
        })
        .collect();
    parts.extend(count_words(
        i64::from(contact.counts.reversals),
        i64::from(contact.counts.for_others),
        i64::from(contact.counts.returned),
    ));
    if let Some(reason) = contact.counts.naloxone_reason {
        parts.push(format!("reason {}", reason.as_str()));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(": {}", parts.join(", "))
    }
}
