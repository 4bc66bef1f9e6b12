"""shipper.server"""
