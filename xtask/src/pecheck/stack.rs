//! Stack use of a driver image, found statically.
//!
//! A thread in the x64 Windows kernel has a 24 KiB stack (Wine's driver
//! threads have megabytes, so a driver that overflows it runs fine there).
//! Frames over one page make the compiler call a stack probe
//! (`__chkstk`/`___chkstk_ms`), which has no business in a driver's hot
//! path; so every frame must stay under 4 KiB, and the deepest chain of
//! calls from the dispatch routines is summed against the 24 KiB.
//!
//! The disassembly is `x86_64-w64-mingw32-objdump -d` of the image (it needs
//! the COFF symbol table, which the build keeps; a stripped image gives no
//! functions and the report says so). A function's frame is its return
//! address, its pushes and its `sub $N,%rsp`. Calls through registers or
//! memory (function pointers, the kernel's imports) are not followed: the
//! chain is a lower bound of the real depth, and the report counts them.

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// The x64 kernel stack of a thread.
pub const KERNEL_STACK: u64 = 24 * 1024;
/// The largest frame a driver function may have: one page, beyond which
/// the compiler probes the stack.
pub const MAX_FRAME: u64 = 4 * 1024;
/// Stack probe routines (gcc/LLVM and MSVC names).
const PROBES: &[&str] = &["___chkstk_ms", "__chkstk", "_chkstk", "__alloca", "___chkstk"];

const OBJDUMP: &str = "x86_64-w64-mingw32-objdump";

/// One function of the image.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Function {
    /// Demangled name.
    pub name: String,
    /// Bytes of stack the function takes, return address included.
    pub frame: u64,
    /// Functions it calls or tail-jumps to directly.
    pub calls: BTreeSet<String>,
    /// Calls through a register or memory (not followed).
    pub indirect_calls: u32,
    /// `sub %reg,%rsp`: a frame sized at run time (the probe idiom).
    pub dynamic_frame: bool,
}

/// The stack facts of an image.
#[derive(Debug, Default)]
pub struct StackReport {
    /// Every function, by name.
    pub functions: BTreeMap<String, Function>,
}

/// A chain of calls and the stack it takes.
#[derive(Debug, PartialEq, Eq)]
pub struct Chain {
    /// Function names, caller first.
    pub path: Vec<String>,
    /// Sum of their frames.
    pub bytes: u64,
}

impl StackReport {
    /// Disassembles the image at `path`.
    pub fn of(path: &Path) -> Result<StackReport> {
        let out = Command::new(OBJDUMP)
            .args(["-d", "--no-show-raw-insn", "-C"])
            .arg(path)
            .output()
            .with_context(|| format!("running {OBJDUMP} (run `cargo xtask setup`)"))?;
        if !out.status.success() {
            bail!("{OBJDUMP} -d {} failed: {}", path.display(), String::from_utf8_lossy(&out.stderr));
        }
        Ok(StackReport::parse(&String::from_utf8_lossy(&out.stdout)))
    }

    /// Reads objdump's AT&T disassembly.
    pub fn parse(text: &str) -> StackReport {
        let mut functions = BTreeMap::new();
        let mut current: Option<Function> = None;
        let mut pushes = 0u64;
        let mut sub = None;
        let finish = |f: Option<Function>, pushes: u64, sub: Option<u64>, map: &mut BTreeMap<String, Function>| {
            if let Some(mut f) = f {
                f.frame = 8 + 8 * pushes + sub.unwrap_or(0);
                map.insert(f.name.clone(), f);
            }
        };
        for line in text.lines() {
            // "0000000140001000 <name>:" starts a function.
            if let Some(name) = line.strip_suffix(">:").and_then(|l| l.split_once(" <")).map(|(_, n)| n) {
                finish(current.take(), pushes, sub, &mut functions);
                current = Some(Function { name: name.to_string(), ..Function::default() });
                (pushes, sub) = (0, None);
                continue;
            }
            let Some(f) = current.as_mut() else { continue };
            // "   140001004:\tsub    $0x28,%rsp"
            let Some((_, insn)) = line.split_once(":\t") else { continue };
            let mut words = insn.split_whitespace();
            let (Some(op), operands) = (words.next(), words.collect::<Vec<_>>().join(" ")) else { continue };
            match op {
                "push" if sub.is_none() => pushes += 1,
                "sub" if operands.ends_with(",%rsp") => match immediate(&operands) {
                    Some(n) => sub = Some(sub.unwrap_or(0).max(n)),
                    None => f.dynamic_frame = true,
                },
                "call" | "jmp" => match direct_target(&operands) {
                    Some(target) if target != f.name => {
                        f.calls.insert(target);
                    }
                    Some(_) => {}
                    None if op == "call" => f.indirect_calls += 1,
                    None => {}
                },
                _ => {}
            }
        }
        finish(current.take(), pushes, sub, &mut functions);
        StackReport { functions }
    }

    /// The functions that call a stack probe, or size their frame at run time.
    pub fn probing(&self) -> Vec<&Function> {
        self.functions
            .values()
            .filter(|f| !is_probe(&f.name) && (f.dynamic_frame || f.calls.iter().any(|c| is_probe(c))))
            .collect()
    }

    /// The `n` largest frames, largest first.
    pub fn largest(&self, n: usize) -> Vec<&Function> {
        let mut all: Vec<&Function> = self.functions.values().collect();
        all.sort_by(|a, b| b.frame.cmp(&a.frame).then(a.name.cmp(&b.name)));
        all.truncate(n);
        all
    }

    /// Functions whose name contains `part` (case-insensitive).
    pub fn named(&self, part: &str) -> Vec<&str> {
        let part = part.to_ascii_lowercase();
        self.functions.keys().filter(|n| n.to_ascii_lowercase().contains(&part)).map(String::as_str).collect()
    }

    /// The chain of direct calls from `root` that takes the most stack.
    /// Recursion (a call back into the chain) is not followed; it is
    /// reported by [`StackReport::recursive`].
    pub fn deepest_from(&self, root: &str) -> Chain {
        let mut memo = BTreeMap::new();
        self.deepest(root, &mut Vec::new(), &mut memo)
    }

    fn deepest(&self, name: &str, path: &mut Vec<String>, memo: &mut BTreeMap<String, (u64, Vec<String>)>) -> Chain {
        if let Some((bytes, tail)) = memo.get(name) {
            return Chain { path: tail.clone(), bytes: *bytes };
        }
        let frame = self.functions.get(name).map_or(0, |f| f.frame);
        path.push(name.to_string());
        let mut best = Chain { path: Vec::new(), bytes: 0 };
        if let Some(f) = self.functions.get(name) {
            for callee in &f.calls {
                if path.contains(callee) {
                    continue;
                }
                let chain = self.deepest(callee, path, memo);
                if chain.bytes > best.bytes {
                    best = chain;
                }
            }
        }
        path.pop();
        let mut full = vec![name.to_string()];
        full.extend(best.path);
        let bytes = frame + best.bytes;
        memo.insert(name.to_string(), (bytes, full.clone()));
        Chain { path: full, bytes }
    }

    /// Functions that can call themselves, directly or through others.
    pub fn recursive(&self) -> Vec<&str> {
        self.functions.keys().filter(|n| self.reaches(n, n)).map(String::as_str).collect()
    }

    fn reaches(&self, from: &str, to: &str) -> bool {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<&str> =
            self.functions.get(from).map(|f| f.calls.iter().map(String::as_str).collect()).unwrap_or_default();
        while let Some(n) = todo.pop() {
            if n == to {
                return true;
            }
            if seen.insert(n) {
                if let Some(f) = self.functions.get(n) {
                    todo.extend(f.calls.iter().map(String::as_str));
                }
            }
        }
        false
    }
}

fn is_probe(name: &str) -> bool {
    PROBES.contains(&name)
}

/// `$0x28,%rsp` -> 0x28.
fn immediate(operands: &str) -> Option<u64> {
    let hex = operands.strip_prefix("$0x")?.split(',').next()?;
    u64::from_str_radix(hex, 16).ok()
}

/// `140001a40 <name>` -> `name`; `name+0x10` offsets inside a function
/// are jumps within it, not calls. Indirect forms (`*%rax`,
/// `*0x10(%rip)`) give `None`.
fn direct_target(operands: &str) -> Option<String> {
    if operands.starts_with('*') {
        return None;
    }
    let name = operands.split_once('<')?.1.strip_suffix('>')?;
    if name.contains("+0x") {
        return None;
    }
    Some(name.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
kchan.sys:     file format pei-x86-64

Disassembly of section .text:

0000000140001000 <kchan_driver::dispatch::device_control>:
   140001000:\tpush   %rbx
   140001001:\tsub    $0x40,%rsp
   140001005:\tcall   140001020 <kchan_driver::recv::post>
   14000100a:\tcall   *0x2000(%rip)        # 140003000 <__imp_IofCompleteRequest>
   140001010:\tjmp    140001005 <kchan_driver::dispatch::device_control+0x5>

0000000140001020 <kchan_driver::recv::post>:
   140001020:\tpush   %rsi
   140001021:\tpush   %rdi
   140001022:\tsub    $0x1028,%rsp
   140001029:\tjmp    140001040 <leaf>

0000000140001040 <leaf>:
   140001040:\tret

0000000140001050 <big>:
   140001050:\tmov    $0x2028,%eax
   140001055:\tcall   140001070 <___chkstk_ms>
   14000105a:\tsub    %rax,%rsp
";

    #[test]
    fn frames_calls_and_chains_are_read_from_the_disassembly() {
        let r = StackReport::parse(SAMPLE);
        let dc = &r.functions["kchan_driver::dispatch::device_control"];
        assert_eq!(dc.frame, 8 + 8 + 0x40);
        assert_eq!(dc.indirect_calls, 1);
        assert_eq!(dc.calls, BTreeSet::from(["kchan_driver::recv::post".to_string()]), "jumps inside are not calls");
        assert_eq!(r.functions["kchan_driver::recv::post"].frame, 8 + 16 + 0x1028);
        assert_eq!(r.functions["leaf"].frame, 8);
        let chain = r.deepest_from("kchan_driver::dispatch::device_control");
        assert_eq!(chain.path, ["kchan_driver::dispatch::device_control", "kchan_driver::recv::post", "leaf"]);
        assert_eq!(chain.bytes, 0x50 + 0x1040 + 8);
        assert_eq!(r.largest(1)[0].name, "kchan_driver::recv::post");
        assert_eq!(r.named("dispatch"), ["kchan_driver::dispatch::device_control"]);
        let probing: Vec<&str> = r.probing().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(probing, ["big"]);
        assert!(r.recursive().is_empty());
    }

    #[test]
    fn recursion_is_found_and_not_followed_forever() {
        let text = "\
0000000140001000 <a>:
   140001000:\tsub    $0x28,%rsp
   140001004:\tcall   140001020 <b>

0000000140001020 <b>:
   140001020:\tsub    $0x28,%rsp
   140001024:\tcall   140001000 <a>
";
        let r = StackReport::parse(text);
        assert_eq!(r.recursive(), ["a", "b"]);
        assert_eq!(r.deepest_from("a").path, ["a", "b"]);
    }
}
