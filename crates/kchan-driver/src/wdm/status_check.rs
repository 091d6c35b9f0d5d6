//! The NTSTATUS values `kchan-proto` writes by hand agree with the ones
//! `kchan-km` takes from mingw's headers: a compile-time check.

use kchan_km::ffi::status;

macro_rules! same {
    ($($proto:ident == $km:ident),* $(,)?) => {
        $(const _: () = assert!(kchan_proto::$proto == status::$km, concat!(stringify!($proto), " disagrees with mingw's headers"));)*
    };
}

same!(
    STATUS_SUCCESS == SUCCESS,
    STATUS_PENDING == PENDING,
    STATUS_CANCELLED == CANCELLED,
    STATUS_BUFFER_TOO_SMALL == BUFFER_TOO_SMALL,
    STATUS_INVALID_PARAMETER == INVALID_PARAMETER,
    STATUS_INSUFFICIENT_RESOURCES == INSUFFICIENT_RESOURCES,
    STATUS_INVALID_HANDLE == INVALID_HANDLE,
    STATUS_DELETE_PENDING == DELETE_PENDING,
    STATUS_INVALID_DEVICE_REQUEST == INVALID_DEVICE_REQUEST,
    STATUS_ACCESS_DENIED == ACCESS_DENIED,
    STATUS_NOT_SUPPORTED == NOT_SUPPORTED,
    STATUS_REVISION_MISMATCH == REVISION_MISMATCH,
    STATUS_INVALID_DEVICE_STATE == INVALID_DEVICE_STATE,
);
