//! The `#[block]` attribute of `wasmhook-sdk`. Use it through `wasmhook_sdk::block`.

use proc_macro::TokenStream;
use quote::quote;
use syn::{FnArg, ItemFn, ReturnType, parse_macro_input, spanned::Spanned};

/// Exports the annotated `fn(Context) -> Result<T, E>` as the block's `run` entry point.
///
/// The function keeps its name and can still be called (e.g. from unit tests). The expansion
/// implements the generated `Guest` trait and calls the `wit-bindgen` export macro through
/// `wasmhook_sdk`'s re-exports, so a block depends on `wasmhook-sdk` alone.
#[proc_macro_attribute]
pub fn block(attr: TokenStream, item: TokenStream) -> TokenStream {
    if !attr.is_empty() {
        let msg = "#[wasmhook_sdk::block] takes no arguments";
        return syn::Error::new(proc_macro2::Span::call_site(), msg).to_compile_error().into();
    }
    let func = parse_macro_input!(item as ItemFn);
    if let Err(err) = check_signature(&func) {
        return err.to_compile_error().into();
    }
    let name = &func.sig.ident;
    quote! {
        #func

        #[doc(hidden)]
        struct __WasmhookBlock;

        impl ::wasmhook_sdk::__private::Guest for __WasmhookBlock {
            fn run() -> ::core::result::Result<
                ::std::string::String,
                ::wasmhook_sdk::__private::Failure,
            > {
                ::wasmhook_sdk::__private::run_block(#name)
            }
        }

        ::wasmhook_sdk::__private::bindings::export_block!(__WasmhookBlock);
    }
    .into()
}

/// Rejects shapes we cannot call, with an error pointing at the offending part.
fn check_signature(func: &ItemFn) -> syn::Result<()> {
    let sig = &func.sig;
    if let Some(asyncness) = sig.asyncness {
        return Err(syn::Error::new(asyncness.span(), "a block's run function cannot be async"));
    }
    if !sig.generics.params.is_empty() {
        return Err(syn::Error::new(sig.generics.span(), "a block's run function cannot be generic"));
    }
    let inputs: Vec<_> = sig.inputs.iter().collect();
    match inputs.as_slice() {
        [FnArg::Typed(_)] => {}
        _ => {
            return Err(syn::Error::new(
                sig.inputs.span(),
                "a block's run function takes exactly one argument: `ctx: wasmhook_sdk::Context`",
            ));
        }
    }
    if let ReturnType::Default = sig.output {
        return Err(syn::Error::new(
            sig.ident.span(),
            "a block's run function returns `Result<impl Serialize, wasmhook_sdk::Error>`",
        ));
    }
    Ok(())
}
