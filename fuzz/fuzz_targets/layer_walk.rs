//! Any bytes given to the layer walker (as gzip, zstd or plain tar) must give an analysis or
//! a typed error, never a panic, within small limits; an analysis must merge into an
//! inventory without panicking, alone and stacked on itself (whiteouts over its own files).
#![no_main]

use libfuzzer_sys::fuzz_target;
use scan::image::analyze_layer;
use scan::{Inventory, LayerRef, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits {
        max_file: 1 << 16,
        max_header: 1 << 16,
        max_layer_bytes: 16 << 20,
        max_ratio: 100,
        ratio_floor: 1 << 20,
    };
    if let Ok(analysis) = analyze_layer(data, &limits) {
        let layer = (LayerRef::default(), &analysis);
        let _ = Inventory::from_layers(&[layer.clone(), layer]);
    }
});
