//! Bundles carried by Syncthing: two real instances on 127.0.0.1 only (global and
//! local discovery, relays, NAT traversal, usage and crash reporting and upgrades
//! off), started and stopped by the test. A worker sends up through a folder that is
//! send-only on its side and receive-only on the coordinator's; the coordinator's
//! bundle comes back down the other way. Every socket the instances hold is checked
//! to stay on the loopback address.

use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

use crate::devices::{enrol, on_worker, worker_stdout};
use crate::harness::{Kitlog, example};
use crate::report::{AFTER_THE_YEAR, SHEETS};

/// One Syncthing instance: its home (config, keys, index) and its process.
struct Instance {
    home: TempDir,
    id: String,
    port: u16,
    child: Option<Child>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port nobody is listening on (the OS picks it).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn syncthing() -> Command {
    let mut command = Command::new("syncthing");
    command
        .env("STNOUPGRADE", "1")
        .env("STNODEFAULTFOLDER", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    command
}

impl Instance {
    fn generate() -> Instance {
        let home = TempDir::new().unwrap();
        let status = syncthing()
            .args(["generate", "--no-default-folder", "--skip-port-probing"])
            .arg(format!("--home={}", home.path().display()))
            .status()
            .expect("syncthing is installed (scripts/test installs it)");
        assert!(status.success(), "syncthing generate failed");
        let output = syncthing()
            .args(["serve", "--device-id"])
            .arg(format!("--home={}", home.path().display()))
            .stdout(Stdio::piped())
            .output()
            .unwrap();
        let id = String::from_utf8(output.stdout).unwrap().trim().to_owned();
        assert_eq!(id.len(), 63, "a device id: {id}");
        Instance {
            home,
            id,
            port: free_port(),
            child: None,
        }
    }

    /// Writes the whole config: the two devices at their loopback addresses, the
    /// folders (id, path, type), and every outward-reaching feature off.
    fn configure(&self, peer: &Instance, folders: &[(&str, &Path, &str)]) {
        let device = |instance: &Instance, name: &str| {
            format!(
                r#"<device id="{}" name="{name}" compression="metadata" introducer="false">
                     <address>tcp://127.0.0.1:{}</address><autoAcceptFolders>false</autoAcceptFolders>
                   </device>"#,
                instance.id, instance.port
            )
        };
        let folders = folders
            .iter()
            .fold(String::new(), |mut all, (id, path, kind)| {
                let _ = write!(
                    all,
                    r#"<folder id="{id}" label="{id}" path="{}" type="{kind}" rescanIntervalS="2"
                               fsWatcherEnabled="false" ignorePerms="false" autoNormalize="true">
                         <device id="{}"></device><device id="{}"></device>
                         <versioning></versioning>
                       </folder>"#,
                    path.display(),
                    self.id,
                    peer.id
                );
                all
            });
        let config = format!(
            r#"<configuration version="36">
                 {folders}
                 {}
                 {}
                 <gui enabled="false" tls="false"><address>127.0.0.1:{}</address></gui>
                 <options>
                   <listenAddress>tcp://127.0.0.1:{}</listenAddress>
                   <globalAnnounceEnabled>false</globalAnnounceEnabled>
                   <localAnnounceEnabled>false</localAnnounceEnabled>
                   <relaysEnabled>false</relaysEnabled>
                   <natEnabled>false</natEnabled>
                   <urAccepted>-1</urAccepted>
                   <crashReportingEnabled>false</crashReportingEnabled>
                   <autoUpgradeIntervalH>0</autoUpgradeIntervalH>
                   <startBrowser>false</startBrowser>
                   <stunKeepaliveStartS>0</stunKeepaliveStartS>
                   <announceLANAddresses>false</announceLANAddresses>
                   <reconnectionIntervalS>1</reconnectionIntervalS>
                 </options>
               </configuration>"#,
            device(self, "me"),
            device(peer, "peer"),
            free_port(),
            self.port,
        );
        std::fs::write(self.home.path().join("config.xml"), config).unwrap();
    }

    fn start(&mut self) {
        let child = syncthing()
            .args(["serve", "--no-browser", "--no-restart"])
            .arg(format!("--home={}", self.home.path().display()))
            .arg(format!(
                "--logfile={}",
                self.home.path().join("syncthing.log").display()
            ))
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }
}

/// Waits until `dir` holds a `.klb` file whose bytes are exactly `bytes`.
fn wait_for_copy(dir: &Path, name: &str, bytes: &[u8]) {
    let start = Instant::now();
    let path: PathBuf = dir.join(name);
    while start.elapsed() < Duration::from_secs(90) {
        if std::fs::read(&path).is_ok_and(|got| got == bytes) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{name} did not arrive through Syncthing within 90 s");
}

/// `pid` and its descendants (Syncthing runs its work in a child of a monitor
/// process), from `/proc`.
fn family(pid: u32) -> Vec<u32> {
    let mut pids = vec![pid];
    let mut index = 0;
    while index < pids.len() {
        let parent = pids[index].to_string();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            // The parent's pid is the second field after the command name in parentheses.
            let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
            if after.split_whitespace().nth(1) == Some(parent.as_str()) && !pids.contains(&child) {
                pids.push(child);
            }
        }
        index += 1;
    }
    pids
}

/// The local and remote IPv4/IPv6 addresses of every socket that process `pid` and
/// its descendants hold, from `/proc` (no outside tool).
fn socket_addresses(pid: u32) -> Vec<String> {
    family(pid)
        .into_iter()
        .flat_map(process_socket_addresses)
        .collect()
}

fn process_socket_addresses(pid: u32) -> Vec<String> {
    let mut inodes = Vec::new();
    for entry in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(entry.path()) {
            let target = target.to_string_lossy().into_owned();
            if let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
            {
                inodes.push(inode.to_owned());
            }
        }
    }
    let mut addresses = Vec::new();
    for table in ["tcp", "tcp6", "udp", "udp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() > 9 && inodes.iter().any(|i| i == fields[9]) {
                addresses.push(format!("{table} {} {}", fields[1], fields[2]));
            }
        }
    }
    addresses
}

/// Whether a `/proc/net` address (hex ip:port) is loopback or unspecified (a
/// listener's remote end).
fn stays_home(address: &str) -> bool {
    let ip = address.split(':').next().unwrap();
    match ip.len() {
        // IPv4, little-endian: 127.x.x.x ends in 7F; 0.0.0.0 is all zeros.
        8 => ip.ends_with("7F") || ip == "00000000",
        // IPv6: ::1, ::, or ::ffff:127.x.x.x.
        32 => {
            ip == "00000000000000000000000001000000"
                || ip.chars().all(|c| c == '0')
                || (ip.starts_with("0000000000000000FFFF0000") && ip.ends_with("7F"))
        }
        _ => false,
    }
}

#[test]
fn bundles_travel_between_two_syncthing_instances_on_loopback_only() {
    let coordinator = Kitlog::initialised().on(AFTER_THE_YEAR);
    let worker = enrol(&coordinator, "van-2");
    let sheet = worker.path("sheet.csv");
    std::fs::copy(example(SHEETS[1]), &sheet).unwrap();
    on_worker(&worker, &["import", sheet.to_str().unwrap()]).success();

    // Up: send-only at the worker, receive-only at the coordinator; down the other way.
    let (worker_up, coordinator_up) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let (coordinator_down, worker_down) = (TempDir::new().unwrap(), TempDir::new().unwrap());
    let mut at_worker = Instance::generate();
    let mut at_coordinator = Instance::generate();
    at_worker.configure(
        &at_coordinator,
        &[
            ("kitlog-up", worker_up.path(), "sendonly"),
            ("kitlog-down", worker_down.path(), "receiveonly"),
        ],
    );
    at_coordinator.configure(
        &at_worker,
        &[
            ("kitlog-up", coordinator_up.path(), "receiveonly"),
            ("kitlog-down", coordinator_down.path(), "sendonly"),
        ],
    );
    at_worker.start();
    at_coordinator.start();

    on_worker(&worker, &["send", worker_up.path().to_str().unwrap()]).success();
    let (name, bytes) = only_bundle(worker_up.path());
    wait_for_copy(coordinator_up.path(), &name, &bytes);
    let received = coordinator.stdout(&["receive", coordinator_up.path().to_str().unwrap()]);
    assert!(received.contains("from van-2: 1 batch new ("), "{received}");
    // The same rows; only the notes differ (a worker's report is never a release).
    let report = [
        "report",
        "--period",
        "month",
        "--by",
        "site",
        "--min-cell",
        "1",
    ];
    let rows = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| !line.starts_with("note,"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        rows(&coordinator.stdout(&report)),
        rows(&worker_stdout(&worker, &report))
    );

    coordinator
        .run(&["send", coordinator_down.path().to_str().unwrap()])
        .success();
    let (name, bytes) = only_bundle(coordinator_down.path());
    wait_for_copy(worker_down.path(), &name, &bytes);
    let down = worker_stdout(&worker, &["receive", worker_down.path().to_str().unwrap()]);
    assert!(down.contains("they were erased here"), "{down}");

    for instance in [&at_worker, &at_coordinator] {
        let addresses = socket_addresses(instance.pid());
        assert!(!addresses.is_empty(), "no sockets seen");
        for line in &addresses {
            let mut parts = line.split_whitespace().skip(1);
            let (local, remote) = (parts.next().unwrap(), parts.next().unwrap());
            assert!(
                stays_home(local) && stays_home(remote),
                "a socket beyond 127.0.0.1: {line}"
            );
        }
    }
}

#[test]
fn the_loopback_check_tells_loopback_from_the_world() {
    assert!(stays_home("0100007F:1F90")); // 127.0.0.1
    assert!(stays_home("00000000:0000"));
    assert!(stays_home("00000000000000000000000001000000:1F90")); // ::1
    assert!(!stays_home("0101A8C0:0050")); // 192.168.1.1
    assert!(!stays_home("08080808:0035")); // 8.8.8.8
    assert!(!stays_home("B80D0120000000000000000001000000:0050")); // 2001:db8::1
}

fn only_bundle(dir: &Path) -> (String, Vec<u8>) {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "klb"))
        .collect();
    assert_eq!(found.len(), 1, "{found:?}");
    let path = found.pop().unwrap();
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    (name, std::fs::read(path).unwrap())
}
